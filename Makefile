# Two commands on a fresh machine: `make demo` and `make test` (each sets itself up).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
N      ?= 500

.PHONY: setup demo test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/python -m sampledex.pipeline.demo demo-library
	$(BIN)/sampledex index demo-library --catalog catalog
	$(BIN)/sampledex search --key "A minor" --compatible --catalog catalog

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

bench: setup
	$(BIN)/python -m sampledex.pipeline.bench --files $(N)

clean:
	rm -rf catalog demo-library bench-library
