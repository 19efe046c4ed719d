# The Terraform module's offline checks (issue 3): wiring of every example via tfparse,
# validation rules, the 2,500-table scale limits, README drift, and checkov.
#
#   make test-terraform   run them (builds .venv and .venv-checkov on first use)
#   make readme           regenerate the README's Inputs/Outputs tables
#   make checkov          checkov's report on the module and the examples

CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cat requirements-checkov.txt | cksum | cut -d' ' -f1)
CHECKOV       := $(CURDIR)/$(CHECKOV_VENV)/bin/checkov

.PHONY: test-terraform readme checkov

$(CHECKOV_STAMP): requirements-checkov.txt
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python $(PIP_INSTALL) -r requirements-checkov.txt
	touch $@

test-terraform: $(STAMP) $(CHECKOV_STAMP) ## examples evaluated offline (tfparse): wiring, validation, limits, README drift, checkov
	CHECKOV=$(CHECKOV) $(PY) -m pytest tests/terraform -p no:cacheprovider

readme: $(STAMP) ## regenerate the README's Inputs/Outputs tables
	$(PY) tools/gen_readme.py

checkov: $(CHECKOV_STAMP) ## checkov's report on the module and the examples
	$(CHECKOV) -d . --framework terraform --skip-download --compact --skip-path tests

EXTRA_TESTS += test-terraform
