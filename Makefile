# denex: `make run` serves a development node; `make test` runs every gate and the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= ./var/node
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck imports pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# A development node: SQLite, unencrypted dev keys, plain HTTP on 127.0.0.1.
run: install
	@export DENEX_DATA_DIR=$(DATA_DIR) DENEX_INSECURE_DEV_KEYS=1 DENEX_INSECURE_DEV_HTTP=1; \
	if [ ! -f $(DATA_DIR)/node.db ]; then \
	  out=$$($(BIN)/denex init --node-id dev-node --country DE --name "Development node" \
	    --url http://$(HOST):$(PORT) 2>&1 >/dev/null) || { echo "$$out"; exit 1; }; \
	  echo "initialised a development node in $(DATA_DIR)"; \
	fi; \
	officer=$$($(BIN)/denex token create --role officer --name make-run-officer --expires 1) || exit 1; \
	admin=$$($(BIN)/denex token create --role admin --name make-run-admin --expires 1) || exit 1; \
	echo ""; \
	echo "  API docs:       http://$(HOST):$(PORT)/docs"; \
	echo "  officer token:  $$officer"; \
	echo "  admin token:    $$admin"; \
	echo "  try:            curl -H \"Authorization: Bearer $$officer\" http://$(HOST):$(PORT)/api/v1/notices"; \
	echo ""; \
	exec $(BIN)/denex serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/python -m pytest -q

test: lint typecheck imports pytest

bench: install
	$(BIN)/python bench/publish.py --markdown docs/benchmarks.md
	$(BIN)/python bench/log.py --markdown docs/benchmarks.md
	$(BIN)/python bench/screening.py --markdown docs/benchmarks.md

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
