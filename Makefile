# collector — set-up, run and test. `make run` and `make test` work on a fresh machine with
# Python 3.11+; everything else is installed into .venv.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test lint typecheck venv bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

venv: $(STAMP)

## run: set up and run the service on ./sources.yaml with the embedded SQLite database
run: $(STAMP)
	$(BIN)/collector run

## test: set up, lint, type-check, and run the whole test suite
test: $(STAMP)
	$(BIN)/ruff check collector tests bench
	$(BIN)/mypy collector
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check collector tests bench

typecheck: $(STAMP)
	$(BIN)/mypy collector

## bench: benchmark dependencies (trafilatura, readability-lxml, reader) for bench/*.py
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,postgres,bench]'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
