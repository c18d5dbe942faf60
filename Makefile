# Two commands matter: `make run` and `make test`. Both bootstrap .venv with uv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2

.PHONY: run test install install-dev lint format typecheck test-embedded test-services migrate openapi bench node-tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"

install: $(UV)
	$(UV) sync --frozen --inexact --python $(BIN)/python

install-dev: $(UV)
	$(UV) sync --frozen --inexact --extra dev --python $(BIN)/python

run: install
	$(BIN)/lms migrate
	$(BIN)/lms serve --host $(HOST) --port $(PORT)

migrate: install
	$(BIN)/lms migrate

openapi: install
	$(BIN)/lms openapi --output openapi.json

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install-dev
	$(BIN)/mypy

# The embedded pass (SQLite, in-memory fallbacks) always runs; the services pass runs the
# same suite on PostgreSQL + Redis when LMS_TEST_DATABASE_URL / LMS_TEST_REDIS_URL are set.
test: lint typecheck test-embedded test-services

test-embedded: install-dev
	LMS_TEST_BACKEND=embedded $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-services: install-dev
	@if [ -n "$$LMS_TEST_DATABASE_URL$$LMS_TEST_REDIS_URL" ]; then \
		LMS_TEST_BACKEND=services $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); \
	else \
		echo "LMS_TEST_DATABASE_URL / LMS_TEST_REDIS_URL not set: services pass skipped"; \
	fi

# The test tools from npm (Node 20), into the gitignored node_modules/ in one install (a
# second `npm install --no-save` would remove the first one's packages): Azurite (the Azure
# Blob emulator) for the Azure storage tests and newman (the Postman CLI) for the collection
# tests; both kinds are skipped when their tool is absent.
node-tools:
	npm install --no-save --no-package-lock --no-audit --no-fund azurite@3.35.0 newman@6.2.2

bench: install-dev
	$(UV) sync --frozen --inexact --extra dev --extra bench --python $(BIN)/python
	$(BIN)/python -m bench.learning_load
	$(BIN)/python -m bench.analytics_load

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
