# The Lambda package (issue 2). `make test-lambda` (root Makefile) runs its tests on the
# venv's Python 3.11 with the coverage gate; `make test-lambda-py313` runs them again on
# Python 3.13, the module's default runtime, in .venv-py313 (the runtime and test packages
# only, pinned by requirements-dev.txt). Skipped, saying so, when no python3.13 is found.
.PHONY: test-lambda-py313

PY313_CANDIDATES := $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13
PY313 ?= $(shell for p in $(PY313_CANDIDATES); do \
  "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1 && { echo "$$p"; break; }; \
  done; true)
VENV313 := .venv-py313
STAMP313 := $(VENV313)/.installed-$(shell cat requirements-dev.txt | cksum | cut -d' ' -f1)
LAMBDA_TEST_PACKAGES := ^(boto3|botocore|moto|pytest|hypothesis|freezegun)(\[|==)

$(STAMP313): requirements-dev.txt
	rm -rf $(VENV313)
	$(PY313) -m venv $(VENV313)
	grep -E '$(LAMBDA_TEST_PACKAGES)' requirements-dev.txt | xargs $(VENV313)/bin/python $(PIP_INSTALL)
	touch $@

test-lambda-py313: ## handler tests on Python 3.13 in .venv-py313 (skipped without python3.13)
ifeq ($(PY313),)
	@echo "test-lambda-py313: skipped, no python3.13 on this machine (set PY313=/path/to/python3.13)"
else
	$(MAKE) --no-print-directory $(STAMP313)
	$(VENV313)/bin/python -m pytest tests/lambda -q -p no:cacheprovider
endif

EXTRA_TESTS += test-lambda-py313
