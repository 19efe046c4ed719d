# Placeholder until the local runtime lands (issue 4).
.PHONY: demo
demo:
	@echo "make demo: the local end-to-end cycle is not built yet"
