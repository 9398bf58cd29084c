# Clinic booking backend. `make run` serves the API locally; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= dev
PORT ?= 8000
DYNAMODB_PORT ?= 8001

.PHONY: help install run reset test test-fast lint bench package deploy clean

help:
	@echo "make run      serve the API on 127.0.0.1:$(PORT) with DynamoDB Local and a demo clinic (RESET=1 wipes data, SEED=0 skips the demo)"
	@echo "make test     the whole suite (unit, functional, integration on DynamoDB Local, end-to-end)"
	@echo "make lint     ruff and mypy"
	@echo "make bench    benchmarks under bench/ (figures and ratios)"
	@echo "make reset    delete local data (.data/)"

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(STAMP) node_modules/.installed

run: install
	@if [ "$(RESET)" = "1" ]; then rm -rf .data; fi
	$(PY) -m infra.local.dev_server --port $(PORT) --dynamodb-port $(DYNAMODB_PORT) $(if $(filter 0,$(SEED)),--no-seed,)

reset:
	rm -rf .data

test: install lint
	$(PY) -m pytest tests -p no:cacheprovider -n 2 --dist loadfile; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests ran"; rc=0; fi; exit $$rc

test-fast: install
	$(PY) -m pytest tests/unit tests/functional -q

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) node_modules .data dist
