# The one source of truth for set-up, demo, tests, lint and benchmarks.
PYTHON ?= python3
VENV   ?= .venv
ifeq ($(OS),Windows_NT)
BIN := $(VENV)/Scripts
else
BIN := $(VENV)/bin
endif
OUT ?= eolneeds-output

.PHONY: demo test lint bench wheel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

# One pip run for the package and its test tools (not the package, then again with
# [test]: each builds the editable wheel in its own isolated environment). It covers
# .installed too.
$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

## make demo: install eolneeds and assess the bundled sample into ./eolneeds-output/
demo: $(VENV)/.installed
	$(BIN)/eolneeds assess --out $(OUT)
	@echo "Reports written to $(OUT)/"

## make test: install the test tools and run the whole suite
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check eolneeds tests bench
	$(BIN)/mypy eolneeds

## make bench: England-scale ingest and assess benchmark (writes bench/results.json)
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run_bench.py

wheel: $(VENV)/.installed-test
	$(BIN)/python -m pip wheel -q --no-deps -w dist .

clean:
	rm -rf $(VENV) build dist *.egg-info $(OUT) bench/data bench/out
