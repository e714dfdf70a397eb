# Two commands do everything: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SURVEY_INSTANCE_PATH ?= $(CURDIR)/instance
export SURVEY_HOST ?= 127.0.0.1
export SURVEY_PORT ?= 5000
# Twilio's contract mock for the tests (see tests/fixtures/twilio.py), kept out of git.
PRISM_VERSION := 5.16.0
# Two test processes, each test module whole in one of them (its tests keep their order);
# `make test PYTEST_WORKERS=` runs them in one.
PYTEST_WORKERS ?= -n 2 --dist loadfile
PRISM_STAMP := .cache/prism/.installed-$(PRISM_VERSION)
# Bytecode is written even where the environment says not to (this machine kind sets
# PYTHONDONTWRITEBYTECODE): without it every test process, and every app process the crash
# tests start, compiles the code and pytest rewrites the tests' asserts anew. (Git ignores it.)
TEST_ENV := env -u PYTHONDONTWRITEBYTECODE
# axe-core, the accessibility audit the browser tests run in each customer page (tests/fixtures/browser.py).
AXE_VERSION := 4.10.3
AXE_STAMP := .cache/axe/.installed-$(AXE_VERSION)

.PHONY: run run-scaled dev test test-slow install install-test translations migrate lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgres,redis]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[postgres,redis,test]'
	touch $@

install: $(VENV)/.installed translations

$(PRISM_STAMP):
	npm install --prefix .cache/prism --no-audit --no-fund --loglevel=error @stoplight/prism-cli@$(PRISM_VERSION)
	touch $@

$(AXE_STAMP):
	npm install --prefix .cache/axe --no-audit --no-fund --loglevel=error axe-core@$(AXE_VERSION)
	touch $@

install-test: $(VENV)/.installed-test translations $(PRISM_STAMP) $(AXE_STAMP)

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d survey/translations

migrate: install
	$(BIN)/survey db upgrade

## Serve the app on the embedded default (SQLite, SQLite queue) with demo data and a worker.
run: migrate
	$(BIN)/survey demo --if-empty
	@scripts/serve.sh

## The multi-process stack on this machine's PostgreSQL and Redis (4 web, 2 queue workers).
run-scaled: install
	@scripts/run-scaled.sh

## The same with Flask's development server and debugger (one process; start `survey worker` beside it).
dev: migrate
	$(BIN)/survey demo --if-empty
	$(BIN)/survey run --host $${SURVEY_HOST:-127.0.0.1} --port $${SURVEY_PORT:-5000} --debug --no-reload

## Install what the tests need and run them (lint, format check, pytest), all but the long
## proofs marked slow (crash, fault and kill tests: `make test-slow`; .ci/run runs both).
test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

## The long proofs: workers and web processes killed mid-work, Twilio and Redis faults.
test-slow: install-test
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_WORKERS) -m slow $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
