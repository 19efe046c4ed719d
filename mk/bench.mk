# The scale benchmark (issue 5): `make bench` (all N) or `make bench ARGS=--quick`
# (N <= 1,000) rewrites BENCHMARKS.md, docs/benchmark.png and bench/results.json.
# Not part of `make test`; its harness tests (tests/bench) are.
.PHONY: bench test-bench

bench: $(STAMP)
	PYTHONPATH=$(CURDIR)/lambda:$(CURDIR) $(PY) -m bench $(ARGS)

test-bench: $(STAMP)
	$(PY) -m pytest tests/bench -q -p no:cacheprovider

EXTRA_TESTS += test-bench
