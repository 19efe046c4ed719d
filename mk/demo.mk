# Local runtime (issue 4): `make demo` and the end-to-end tests with the IAM proof.
# localrun/ is a Python package at the repository root; it never ships in the zip.
.PHONY: demo test-e2e

# Options go in ARGS (make demo ARGS="--days 3 --json"), as for make bench. DEMO_ARGS is
# the deprecated earlier name, still passed on with a warning.
DEMO_ARGS ?=

# A week of daily backup cycles against moto's server, then one bad day.
demo: $(STAMP) ## a week of backup cycles against moto, then a bad day (ARGS="--help" lists the options)
	@$(if $(DEMO_ARGS),echo "make demo: DEMO_ARGS is deprecated; use ARGS='$(DEMO_ARGS)'" >&2;) \
	PYTHONPATH=lambda:. $(PY) -m localrun demo $(ARGS) $(DEMO_ARGS)

# End-to-end scenarios on the local runtime, then the IAM proof over their calls.
test-e2e: $(STAMP) ## end-to-end fault scenarios on the local runtime, then the IAM proof
	$(PY) -m pytest tests/e2e -p no:cacheprovider

EXTRA_TESTS += test-e2e
