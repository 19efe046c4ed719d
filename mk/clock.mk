# Tests that pass on any date (issue 9): the handler and end-to-end suites run once more
# with the clock moved 400 days ahead (the handler suite under Debian's faketime,
# installed when missing; the end-to-end suite with Python's clock moved, see below).
# The suites never read the wall clock behind their injected clock or freezegun; this run
# proves it. `make test-clock CLOCK_SHIFT=-30d` moves it back instead (a relative shift:
# +/-N with s, m, h, d or y).
.PHONY: test-clock faketime

CLOCK_SHIFT ?= +400d
# -m: the thread-safe libfaketimeMT (the default library is not thread-safe).
# Not named FAKETIME: libfaketime reads that environment variable, and make passes a
# variable it got from the environment on to every recipe (`faketime make test-lambda`
# would hand the pytest run this command line as its fake time and fail).
# The library is preloaded directly, as `faketime -m` does (the same path, with the
# loader's own $LIB), so that a crash reaches make as the signal's exit status 139 (the
# `faketime` wrapper turns it into 1, like a failed test). The monotonic clock is faked
# too: with FAKETIME_DONT_FAKE_MONOTONIC, libfaketime 0.9.10's sleep fails with EINVAL.
FAKETIME_RUN = LD_PRELOAD='/usr/$$LIB/faketime/libfaketimeMT.so.1' FAKETIME='$(CLOCK_SHIFT)'
# libfaketime itself crashes (SIGSEGV) in threaded code: in the moto server's threads
# (select(), epoll, close()), in most runs of the longer end-to-end files (five runs of
# tests/e2e/test_tiers_year.py in a row here; CI once failed on one in test_drill.py),
# never yet in the handler suite, whose moto is in-process. So:
# - the handler suite runs under libfaketime, in one process (no xdist: a crashed worker
#   is reported as a failed test, not as a crash), and a run that crashed, and only such
#   a run, runs again (tools/retry-on-segv, CLOCK_ATTEMPTS runs in all); a failing test
#   fails at once;
# - the end-to-end suite runs with the clock moved inside Python instead
#   (tools/clockshift: a ticking freezegun freezer started at interpreter start-up, in
#   every thread and child interpreter; the tests' own freezers and the local runtime's
#   virtual clock stack on it). It covers every clock our code, botocore and moto read;
#   it does not move C code's clock, which nothing in that suite reads.
CLOCK_ATTEMPTS ?= 5
FAKETIME_RETRY = tools/retry-on-segv $(CLOCK_ATTEMPTS)
PYTHON_CLOCK_SHIFT = SITE_CLOCK_SHIFT='$(CLOCK_SHIFT)' PYTHONPATH="$(CURDIR)/tools/clockshift$${PYTHONPATH:+:$$PYTHONPATH}"

faketime: ## install Debian's faketime when it is missing (used by test-clock)
	@command -v faketime >/dev/null 2>&1 || { \
	  echo "faketime: installing Debian's faketime package"; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq faketime >/dev/null; }
	@command -v faketime >/dev/null 2>&1 || { echo "faketime: could not be installed"; exit 1; }

test-clock: $(STAMP) faketime ## handler and e2e suites again with the clock moved CLOCK_SHIFT (+400d)
	@echo "test-clock: system clock moved $(CLOCK_SHIFT): $$(faketime -f '$(CLOCK_SHIFT)' date -u +%FT%TZ)"
	$(FAKETIME_RETRY) "test-clock: tests/lambda" \
	  env $(FAKETIME_RUN) $(PY) -m pytest tests/lambda -q -p no:cacheprovider -p no:xdist
	@echo "test-clock: Python's clock moved $(CLOCK_SHIFT): $$($(PYTHON_CLOCK_SHIFT) $(PY) -c 'import datetime; print(datetime.datetime.now(datetime.UTC).strftime("%FT%TZ"))')"
	$(PYTHON_CLOCK_SHIFT) $(PY) -m pytest tests/e2e -q -p no:cacheprovider

EXTRA_TESTS += test-clock
