# denex: `make run` serves a development node; `make test` runs every gate and the whole suite.
# Both install the exact versions of the lock files in requirements/ (with their hashes):
# `make run` the runtime ones only, `make test` the development tools too.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
UV := $(BIN)/uv
RUNTIME := $(VENV)/.runtime
DEV := $(VENV)/.dev
DATA_DIR ?= ./var/node
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install browser run test test-fast lint typecheck imports pytest lock compile-locks outdated docs bench clean

# The runtime: the build and runtime locks, then the project itself (editable, no
# dependencies of its own choosing; built with the locked setuptools).
$(RUNTIME): requirements/build.txt requirements/runtime.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes -r requirements/build.txt -r requirements/runtime.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $@

# The development tools on top: the dev lock pins the runtime packages at the same versions.
$(DEV): $(RUNTIME) requirements/dev.txt
	$(PIP) install --require-hashes -r requirements/dev.txt
	@touch $@

install: $(DEV)

# Debian's Chromium, which the browser tests (marker `browser`) drive headless through
# Playwright: installed from Debian's packages when missing (the suite runs as root). No
# `playwright install`: nothing is downloaded from outside the package registries.
CHROMIUM := /usr/bin/chromium

browser: $(CHROMIUM)

$(CHROMIUM):
	DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# A development node: SQLite, unencrypted dev keys, plain HTTP on 127.0.0.1. Its card
# publishes http://$(HOST):$(PORT), the URL its peers sign their requests for: a node made
# for another URL is refused (no command changes a node's URL).
run: $(RUNTIME)
	@export DENEX_DATA_DIR=$(DATA_DIR) DENEX_INSECURE_DEV_KEYS=1 DENEX_INSECURE_DEV_HTTP=1; \
	want=http://$(HOST):$(PORT); \
	if [ ! -f $(DATA_DIR)/node.db ]; then \
	  out=$$($(BIN)/denex init --node-id dev-node --country DE --name "Development node" \
	    --url $$want 2>&1 >/dev/null) || { echo "$$out"; exit 1; }; \
	  echo "initialised a development node in $(DATA_DIR)"; \
	else \
	  card=$$($(BIN)/denex node card) || exit 1; \
	  url=$$(printf '%s' "$$card" | $(BIN)/python -c 'import base64, json, sys; print(json.loads(base64.b64decode(json.load(sys.stdin)["payload"]))["url"])') || exit 1; \
	  if [ "$$url" != "$$want" ]; then \
	    at=$${url#*://}; \
	    echo "make run: the development node in $(DATA_DIR) is published at $$url (its card's url, which peers sign for), not $$want: run \`make run HOST=$${at%:*} PORT=$${at##*:}\`, or make a new node with \`rm -rf $(DATA_DIR)\` (its keys, tokens and notices are lost)" >&2; \
	    exit 1; \
	  fi; \
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

lint: $(DEV)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(DEV)
	$(BIN)/mypy

imports: $(DEV)
	$(BIN)/lint-imports

# One worker process per core (pytest-xdist); a test module's tests stay on one worker, so a
# module-scoped fixture (a running federation, a template node) is built once.
PARALLEL := -n auto --dist loadscope

pytest: $(DEV) browser
	$(BIN)/python -m pytest -q $(PARALLEL)

test: lint typecheck imports pytest

# The inner loop: the gates and every test that starts neither a `denex` process, the
# PostgreSQL server nor a browser. `make test` stays the gate of record.
test-fast: lint typecheck imports
	$(BIN)/python -m pytest -q $(PARALLEL) -m "not system and not postgres and not browser"

# Refresh the lock files from pyproject.toml: keeps every pin that still fits and resolves
# only what changed; a file is rewritten only if it changes. `make lock UPGRADE=1` takes the
# newest versions the ranges admit.
COMPILE := $(abspath $(UV)) pip compile --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

lock: $(DEV)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) --no-print-directory -s compile-locks INTO="$$tmp" && \
	for f in build runtime dev; do \
	  cmp -s "$$tmp/requirements/$$f.txt" requirements/$$f.txt && continue; \
	  mkdir -p requirements && cp "$$tmp/requirements/$$f.txt" requirements/$$f.txt && \
	  echo "wrote requirements/$$f.txt"; \
	done

# The three lock files, compiled in a copy of pyproject.toml and requirements/ in the
# directory INTO (so that the files name their sources as they do in the repository).
compile-locks:
	@mkdir -p $(INTO)/requirements && cp pyproject.toml $(INTO)/ && \
	{ cp requirements/*.txt $(INTO)/requirements/ 2>/dev/null || true; }
	$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
	  | (cd $(INTO) && $(COMPILE) - -o requirements/build.txt)
	cd $(INTO) && $(COMPILE) pyproject.toml -o requirements/runtime.txt
	cd $(INTO) && $(COMPILE) pyproject.toml --extra dev -c requirements/runtime.txt -o requirements/dev.txt

# What newer versions exist for the locked packages. Changes nothing: the upgraded lock is
# made in a temporary directory and compared.
outdated: $(DEV)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) --no-print-directory -s compile-locks INTO="$$tmp" UPGRADE=1 && \
	pins() { grep -hoE '^[A-Za-z0-9._-]+==[^ ;\\]+' "$$@" | sed 's/==/ /' | LC_ALL=C sort -u; } && \
	echo "Newer versions within pyproject.toml's ranges (\`make lock UPGRADE=1\` takes them):" && \
	LC_ALL=C join -a1 -a2 -e '(none)' -o 0,1.2,2.2 <(pins requirements/*.txt) \
	  <(pins "$$tmp"/requirements/*.txt) \
	  | awk '$$2 != $$3 { print "  " $$1 " " $$2 " -> " $$3; n++ } END { if (!n) print "  none" }' && \
	echo "Newest releases of the installed packages (beyond a range: widen it in pyproject.toml first):" && \
	$(UV) pip list --outdated --python $(BIN)/python

# docs/configuration.md's table of DENEX_ variables, from service/settings.py.
docs: $(RUNTIME)
	$(BIN)/python -m service.settings_doc docs/configuration.md

bench: $(DEV)
	$(BIN)/python bench/publish.py --markdown docs/benchmarks.md
	$(BIN)/python bench/log.py --markdown docs/benchmarks.md
	$(BIN)/python bench/screening.py --markdown docs/benchmarks.md

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
