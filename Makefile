# smsco dashboard: `make run` starts the dashboard, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

.PHONY: run test lint bench worker clean translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when a requirements file changes.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Compiled catalogs (.mo, not in git): rebuilt when a .po file changes.
CATALOGS := $(wildcard translations/*/LC_MESSAGES/messages.po)
translations/.compiled: $(CATALOGS) | $(VENV)/.runtime
	$(BIN)/flask --app app translations compile
	touch $@

## run: set everything up and start the dashboard on http://127.0.0.1:$(PORT)
run: $(VENV)/.runtime translations/.compiled
	$(BIN)/flask --app app prepare
	$(BIN)/flask --app app serve --host 127.0.0.1 --port $(PORT)

## test: set up and run the whole suite (lint, unit, integration, browser)
test: $(VENV)/.dev translations/.compiled
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .

## bench: run the benchmarks in bench/
bench: $(VENV)/.dev
	$(BIN)/python bench/bench_client.py

## translations: extract every marked string and merge it into translations/*/messages.po
translations: $(VENV)/.runtime
	$(BIN)/flask --app app translations update

## worker: run the scheduler alone (web server started with SMSCO_SCHEDULER=off)
worker: $(VENV)/.runtime
	$(BIN)/flask --app app worker

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
