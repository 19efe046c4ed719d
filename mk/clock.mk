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
FAKETIME_RUN = faketime -m -f '$(CLOCK_SHIFT)'

faketime: ## install Debian's faketime when it is missing (used by test-clock)
	@command -v faketime >/dev/null 2>&1 || { \
	  echo "faketime: installing Debian's faketime package"; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq faketime >/dev/null; }
	@command -v faketime >/dev/null 2>&1 || { echo "faketime: could not be installed"; exit 1; }

test-clock: $(STAMP) faketime ## handler and e2e suites again with the clock moved CLOCK_SHIFT (+400d)
	@echo "test-clock: system clock moved $(CLOCK_SHIFT): $$(faketime -f '$(CLOCK_SHIFT)' date -u +%FT%TZ)"
	$(FAKETIME_RUN) $(PY) -m pytest tests/lambda -q -p no:cacheprovider -n 2
	$(FAKETIME_RUN) $(PY) -m pytest tests/e2e -q -p no:cacheprovider

EXTRA_TESTS += test-clock
