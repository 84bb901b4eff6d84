# One command each, on a fresh machine (Python 3.10+, a C/C++ compiler, cmake):
#   make demo   install extractinator with the embedded default model, run the bundled demo
#   make test   install with the test extras, run lint, layering contracts and all tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# llama-cpp-python compiles on install. A -march=native build crashes on some CPUs
# (AVX-512/AMX VMs), so build portable unless the caller sets CMAKE_ARGS.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: demo test install install-dev lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[model]"

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

demo: install
	$(BIN)/extractinator demo

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
