# Clinic booking backend. `make run` serves the API locally; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
STAGE ?= dev
PORT ?= 8000
DYNAMODB_PORT ?= 8001
WS_PORT ?= 8002
CALDAV_PORT ?= 8003
# The release `make package` stamps into the code (GET /health, every log line, a metrics dimension).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: help install python run reset test test-fast test-any-hour docs lint hooks bench package deploy smoke clean

help:
	@echo "make run      serve the API on 127.0.0.1:$(PORT) with DynamoDB Local and a demo clinic (RESET=1 wipes data, SEED=0 skips the demo;"
	@echo "             PORT, DYNAMODB_PORT, WS_PORT and CALDAV_PORT move its four ports)"
	@echo "make test     the whole suite (unit, functional, integration on DynamoDB Local, end-to-end)"
	@echo "make test-any-hour  the suite with the clock at 23:50 and 00:10 UTC (faketime)"
	@echo "make docs     rewrite docs/api.md's route table from /openapi.json"
	@echo "make test-fast  unit and functional tests and the store contracts on the fakes (no DynamoDB Local, no browser)"
	@echo "make lint     ruff, mypy (tests and bench too), bandit on the code and checkov on the packaged prod stack (offline)"
	@echo "make hooks    run ruff, ruff format and mypy before every commit (pre-commit)"
	@echo "make bench    benchmarks under bench/ (figures and ratios)"
	@echo "make package  dist/STAGE/sam.yaml + deployment.zip (STAGE=dev|staging|prod), stamped with VERSION (git describe), linted; no AWS access needed"
	@echo "make deploy   package, upload and deploy to AWS, then the web app to its bucket (STAGE=..., BUCKET=..., PARAMETERS='Key=Value ...')"
	@echo "make smoke    book, read, reschedule and cancel a visit of the reserved smoke doctor and patient (API=https://...; README: Releasing)"
	@echo "make reset    delete local data (.data/)"

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# The scanners live in their own venv: checkov pins many libraries that the app's venv also holds.
$(SCAN_STAMP): requirements-scan.txt
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian's Chromium headless shell for the browser tests (Playwright drives it; no browser download). It is the
# build Playwright itself uses for headless runs: the same Blink, without the full browser's compositor and UI.
/usr/bin/chromium-headless-shell:
	command -v apt-get >/dev/null && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell) \
		|| (echo "install Debian's chromium-headless-shell package for the browser tests" && exit 1)

# `python` is the venv alone: enough for lint, test-fast, docs and package (no Node, no Chromium).
python: $(STAMP)
install: python node_modules/.installed /usr/bin/chromium-headless-shell

# The ports are checked first, before anything is installed, started or seeded.
run:
	@$(PYTHON) -m infra.local.ports PORT=$(PORT) DYNAMODB_PORT=$(DYNAMODB_PORT) WS_PORT=$(WS_PORT) CALDAV_PORT=$(CALDAV_PORT)
	@$(MAKE) --no-print-directory install
	@if [ "$(RESET)" = "1" ]; then rm -rf .data; fi
	$(PY) -m infra.local.dev_server --port $(PORT) --dynamodb-port $(DYNAMODB_PORT) --ws-port $(WS_PORT) \
		--caldav-port $(CALDAV_PORT) \
		$(if $(filter 0,$(SEED)),--no-seed,)

reset:
	rm -rf .data

# Two workers, tests handed out in the suite's order (unit, functional, integration, e2e: tests/conftest.py), so both
# start on the unit tests, the tests of a costly module fixture's module to one worker (its xdist_group);
# `PYTEST_ARGS=-x` stops at the first failure.
PYTEST_XDIST := -p no:cacheprovider -n 2 --dist loadgroup --no-loadscope-reorder

test: install lint
	$(PY) -m pytest tests $(PYTEST_XDIST) $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests ran"; rc=0; fi; exit $$rc

# The whole suite with the machine's clock at 23:50 UTC and at 00:10 UTC (libfaketime; the clock keeps running).
# libfaketime is preloaded with a fixed offset (the same moment in every process, and no shared-memory lookup on
# each clock read as the `faketime` wrapper does). Only the wall clock moves (a faked monotonic clock hangs
# Python's lock timeouts); infra/anyhour works around libfaketime 0.9.10's time.sleep bug; DynamoDB Local and
# Chromium keep the real clock (both stall under libfaketime).
ANY_HOUR_CLOCKS := "$$(date -u -d tomorrow +%F) 23:50:00" "$$(date -u -d '+2 days' +%F) 00:10:00"
test-any-hour: install /usr/bin/faketime
	@for at in $(ANY_HOUR_CLOCKS); do \
		echo "== the suite with the clock at $$at UTC"; \
		FAKETIME="+$$(( $$(date -u -d "$$at" +%s) - $$(date -u +%s) ))" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		LD_PRELOAD='/usr/$$LIB/faketime/libfaketime.so.1' PYTHONPATH=$(CURDIR)/infra/anyhour \
			$(PY) -m pytest tests $(PYTEST_XDIST) $(PYTEST_ARGS) || exit 1; \
	done

/usr/bin/faketime:
	command -v apt-get >/dev/null && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime) \
		|| (echo "install Debian's faketime package for make test-any-hour" && exit 1)

docs: python
	$(PY) -m infra.local.api_docs

# Unit and functional tests, and the store contract suites on the in-memory fakes (marker `memory`).
test-fast: python
	$(PY) -m pytest tests/unit tests/functional tests/integration -m "unit or functional or memory" -q $(PYTEST_XDIST) $(PYTEST_ARGS)

# bandit and checkov must report nothing; waivers are written in place with their reason (README: Security).
# checkov runs offline: bundled policies only, no platform key, no download.
lint: python $(SCAN_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(SCAN_VENV)/bin/bandit --quiet --recursive chalicelib app.py
	$(MAKE) --no-print-directory package STAGE=prod
	$(SCAN_VENV)/bin/checkov --file dist/prod/sam.yaml --framework cloudformation --skip-download \
		--compact --quiet

# The checks of `make lint`'s first three lines before every commit (pre-commit, from the venv).
hooks: python
	$(VENV)/bin/pre-commit install

bench: install
	$(PY) -m bench.run

# The deployable stack: Chalice's template merged with template.yaml, and the code zip (no AWS access needed).
package: python
	rm -rf dist/$(STAGE)
	@# no bytecode written by chalice's own import of the app: chalice names (and reuses) the package by a hash of
	@# the app's files, __pycache__ included, so a clean tree's package is the one the package tests' clean copy
	@# of the sources asks for (tests/integration/test_package.py), and is built once per source state
	PYTHONDONTWRITEBYTECODE=1 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --pkg-format cloudformation \
		--template-format yaml --merge-template template.yaml --stage $(STAGE) dist/$(STAGE)
	$(PY) -m infra.release dist/$(STAGE) --version "$(VERSION)"
	$(VENV)/bin/cfn-lint dist/$(STAGE)/sam.yaml
	@echo "dist/$(STAGE)/sam.yaml and dist/$(STAGE)/deployment.zip are ready"

# Needs the AWS CLI, credentials, and an S3 bucket for the code: make deploy STAGE=prod BUCKET=my-artifacts
deploy: package
	@test -n "$(BUCKET)" || (echo "set BUCKET=<an S3 bucket for the code>"; exit 2)
	aws cloudformation package --template-file dist/$(STAGE)/sam.yaml --s3-bucket $(BUCKET) \
		--output-template-file dist/$(STAGE)/packaged.yaml
	aws cloudformation deploy --template-file dist/$(STAGE)/packaged.yaml --stack-name clinic-$(STAGE) \
		--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
		--parameter-overrides Stage=$(STAGE) $(PARAMETERS)
	$(PY) -m infra.web_deploy --stack-name clinic-$(STAGE)

# After any deploy, and against `make run` (API=http://127.0.0.1:8000). Tokens: SMOKE_PATIENT_TOKEN and, the first
# time, SMOKE_ADMIN_TOKEN (README: Releasing); against a local API they are make run's development tokens.
smoke: python
	@test -n "$(API)" || (echo "set API=<the stage's API base URL>"; exit 2)
	$(PY) -m infra.smoke --api "$(API)"

clean:
	rm -rf $(VENV) $(SCAN_VENV) node_modules .data dist
