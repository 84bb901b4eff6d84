# One command each, on a fresh machine (Python 3.10+, a C/C++ compiler, cmake):
#   make demo   install extractinator with the embedded default model, run the bundled demo
#   make test   install with the test extras, run lint, layering contracts and all tests
#               (with Debian's chromium for the studio's browser tests and tesseract +
#               poppler for OCR of scanned documents, if apt can install them)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# llama-cpp-python compiles on install: scripts/llama_wheel.sh builds it once for this CPU's
# instruction sets (never -march=native, which crashes on some AVX-512/AMX VMs; AMX off),
# falls back to a portable build, and keeps the wheel in ~/.cache/extractinator/wheels.
# Set CMAKE_ARGS to choose the flags yourself.
WHEELS := $(VENV)/llama-wheel-dir

.PHONY: demo test install install-dev lint system-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(WHEELS): $(BIN)/python scripts/llama_wheel.sh scripts/llama_cmake_args.py
	scripts/llama_wheel.sh $(BIN)/python > $@.tmp && mv $@.tmp $@

install: $(WHEELS)
	$(BIN)/pip install --quiet --find-links "$$(cat $(WHEELS))" -e ".[model]"

install-dev: $(WHEELS)
	$(BIN)/pip install --quiet --find-links "$$(cat $(WHEELS))" -e ".[dev]"

demo: install
	$(BIN)/extractinator demo

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

# chromium + chromedriver (browser tests), tesseract + poppler (OCR of scanned documents)
system-packages:
	scripts/install_system_packages.sh

test: lint system-packages
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
