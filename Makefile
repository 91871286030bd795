# Two commands on a fresh machine: `make run` and `make test`. Each bootstraps what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export AWS_DEFAULT_REGION ?= ap-northeast-2

.PHONY: run test lint imports typecheck unit bench load package clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(BIN)/.installed
	$(BIN)/python tools/run_local.py

lint: $(BIN)/.installed
	$(BIN)/ruff check app.py chalicelib tests tools bench

typecheck: $(BIN)/.installed
	$(BIN)/mypy chalicelib

imports: $(BIN)/.installed
	$(BIN)/lint-imports --no-cache --no-logo

test: $(BIN)/.installed node_modules/.installed lint typecheck imports
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: $(BIN)/.installed node_modules/.installed
	$(BIN)/python bench/run.py

# The load test alone: 500 checkouts from 25 shoppers, a flash sale, DynamoDB throttling.
load: $(BIN)/.installed node_modules/.installed
	$(BIN)/python bench/load.py

# The Lambda package (build/), with the templates compiled to Python and everything a page
# runs compiled to bytecode, for a quicker cold start.
package: $(BIN)/.installed
	$(BIN)/python tools/compile_templates.py
	$(BIN)/python tools/compile_bytecode.py
	$(BIN)/chalice package --stage $(or $(STAGE),dev) build

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache build
