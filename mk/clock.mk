# Tests that pass on any date (issue 9): the handler and end-to-end suites run once more
# with the system clock moved 400 days ahead (Debian's faketime, installed when missing).
# The suites never read the wall clock behind their injected clock or freezegun; this run
# proves it. `make test-clock CLOCK_SHIFT=-30d` moves it back instead.
.PHONY: test-clock faketime

CLOCK_SHIFT ?= +400d
# -m: the thread-safe libfaketimeMT. The e2e suite serves moto from threads; the default
# library is not thread-safe and once crashed a fresh-clone run with a segfault there.
# Not named FAKETIME: libfaketime reads that environment variable, and make passes a
# variable it got from the environment on to every recipe (`faketime make test-lambda`
# would hand the pytest run this command line as its fake time and fail).
# The library is preloaded directly, as `faketime -m` does (the same path, with the
# loader's own $LIB), so that a crash reaches make as the signal's exit status 139 (the
# `faketime` wrapper turns it into 1, like a failed test). The monotonic clock is faked
# too: with FAKETIME_DONT_FAKE_MONOTONIC, libfaketime 0.9.10's sleep fails with EINVAL.
FAKETIME_RUN = LD_PRELOAD='/usr/$$LIB/faketime/libfaketimeMT.so.1' FAKETIME='$(CLOCK_SHIFT)'
# libfaketime itself crashes (SIGSEGV) in threaded code: in the moto server's select(),
# botocore, strptime, in more than half of the whole-suite e2e runs on a loaded 2-core
# machine (never yet in the in-process handler suite). A crash of the preload library is
# not a test result: the e2e suite runs file by file (less work per process), and a file
# whose run crashed, and only such a file, runs again, up to three times; a failing test
# fails at once, and a third crash fails the target. (The IAM proof, which needs the
# whole session, skips here; it runs in test-e2e.)
define faketime_once_more
$(1) || { rc=$$?; [ $$rc -eq 139 ] || exit $$rc; \
  echo "test-clock: libfaketime crashed (SIGSEGV); running the suite once more"; $(1); }
endef

faketime: ## install Debian's faketime when it is missing (used by test-clock)
	@command -v faketime >/dev/null 2>&1 || { \
	  echo "faketime: installing Debian's faketime package"; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq faketime >/dev/null; }
	@command -v faketime >/dev/null 2>&1 || { echo "faketime: could not be installed"; exit 1; }

test-clock: $(STAMP) faketime ## handler and e2e suites again with the clock moved CLOCK_SHIFT (+400d)
	@echo "test-clock: system clock moved $(CLOCK_SHIFT): $$(faketime -f '$(CLOCK_SHIFT)' date -u +%FT%TZ)"
	$(call faketime_once_more,$(FAKETIME_RUN) $(PY) -m pytest tests/lambda -q -p no:cacheprovider -n 2)
	@for file in tests/e2e/test_*.py; do \
	  for attempt in 1 2 3; do \
	    echo "test-clock: $$file"; \
	    $(FAKETIME_RUN) $(PY) -m pytest $$file -q -p no:cacheprovider; rc=$$?; \
	    [ $$rc -eq 139 ] || break; \
	    echo "test-clock: libfaketime crashed (SIGSEGV) in $$file (attempt $$attempt of 3)"; \
	  done; \
	  [ $$rc -eq 0 ] || exit $$rc; \
	done

EXTRA_TESTS += test-clock
