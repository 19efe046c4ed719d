# make demo  - a whole backup cycle locally, against moto (no AWS account)
# make test  - every check: lint, types, unit/handler tests, Terraform checks, end to end
# make bench - the scale benchmark (not part of make test)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed-$(shell cat requirements-dev.txt | cksum | cut -d' ' -f1)
PY_DIRS := $(wildcard lambda tests tools localrun bench)

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv lint typecheck test test-lambda demo bench clean

help:
	@echo "make demo   run a week of backup cycles locally (no AWS account needed)"
	@echo "make test   run every check (installs its tools into .venv on first use)"
	@echo "make bench  run the scale benchmark and rewrite BENCHMARKS.md"

$(STAMP): requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

typecheck: $(STAMP)
	$(BIN)/mypy $(PY_DIRS)

# Unit and handler tests of the Lambda package, with the coverage gate.
test-lambda: $(STAMP)
	$(PY) -m pytest tests/lambda --cov --cov-report=term --cov-fail-under=90

-include mk/*.mk

test: lint typecheck test-lambda $(EXTRA_TESTS)
	@echo "make test: all checks passed"

clean:
	rm -rf $(VENV) $(VENV)-* build .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis
