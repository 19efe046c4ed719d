# Local runtime (issue 4): `make demo` and the end-to-end tests with the IAM proof.
# localrun/ is a Python package at the repository root; it never ships in the zip.
.PHONY: demo test-e2e

DEMO_ARGS ?=

# A week of daily backup cycles against moto's server, then one bad day.
demo: $(STAMP)
	@PYTHONPATH=lambda:. $(PY) -m localrun demo $(DEMO_ARGS)

# End-to-end scenarios on the local runtime, then the IAM proof over their calls.
test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e -p no:cacheprovider

EXTRA_TESTS += test-e2e
