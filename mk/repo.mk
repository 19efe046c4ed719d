# The repository's own conventions (issue 13): make help lists every public target, the
# pre-commit hooks call what exists, no formatter-only Terraform on the venv's PATH.
.PHONY: test-repo

test-repo: $(STAMP) ## make help, pre-commit hooks and venv layout are what the README says
	$(PY) -m pytest tests/repo -q -p no:cacheprovider

EXTRA_TESTS += test-repo
