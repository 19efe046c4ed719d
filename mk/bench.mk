# The scale benchmark (issue 5): `make bench` (all N) rewrites the committed BENCHMARKS.md,
# docs/benchmark.png and bench/results.json; `make bench ARGS=--quick` (N <= 1,000) and any
# other partial run write the same files to build/bench/ instead.
# `make bench ARGS=--retention` runs the retention scenarios (issue 10; about 20 minutes)
# and replaces only their section of BENCHMARKS.md and bench/retention-results.json;
# ARGS="--retention --tables 20" (or --scenarios KEY,...) writes build/bench/ instead.
# Not part of `make test`; its harness tests (tests/bench) are. The chart library
# (requirements-bench.txt) is installed into .venv by the first `make bench` only.
.PHONY: bench test-bench

BENCH_STAMP := $(VENV)/.installed-bench-$(shell cat requirements-bench.txt | cksum | cut -d' ' -f1)

$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(PY) $(PIP_INSTALL) -r requirements-bench.txt
	touch $@

bench: $(BENCH_STAMP) ## the scale benchmark: all N rewrites BENCHMARKS.md; ARGS=--quick writes build/bench/; ARGS=--retention the retention scenarios
	PYTHONPATH=$(CURDIR)/lambda:$(CURDIR) $(PY) -m bench $(ARGS)

test-bench: $(STAMP) ## tests of the benchmark harness (no timing assertions)
	$(PY) -m pytest tests/bench -q -p no:cacheprovider

EXTRA_TESTS += test-bench
