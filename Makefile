# The face of the workbook. Every target that needs Python creates the environment first
# (a virtual environment in .venv from the pinned requirements.lock) when it is missing or stale.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ENGINES_STAMP := $(VENV)/.installed-engines
ENGINES ?=
STUDY ?= 2024-annual
JOBS ?=
SCALE ?=

RUN_FLAGS = $(if $(JOBS),--jobs $(JOBS)) $(if $(filter 1 yes true,$(FORCE)),--force) $(if $(ONLY),--only $(ONLY))

.DEFAULT_GOAL := help
.PHONY: help setup setup-engines report pdf test lab new-study validate map bench clean lock

help: ## list the targets
	@echo "Customer-insight workbook. Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo "Variables: STUDY=$(STUDY)  JOBS=n (parallel notebooks, default: cores)  FORCE=1 (rerun all)  ONLY=name (one notebook)  SCALE=x (bench)"

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# optional engines (pyspark, warehouse drivers): `make setup ENGINES=1`; `make test` installs them too
$(ENGINES_STAMP): $(STAMP) requirements-engines.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-engines.lock
	@touch $(ENGINES_STAMP)

setup: $(STAMP) $(if $(filter 1 yes true,$(ENGINES)),$(ENGINES_STAMP)) ## create the environment (.venv) from requirements.lock [ENGINES=1: also pyspark and warehouse drivers]
	@echo "environment ready: $(VENV)"

setup-engines: $(ENGINES_STAMP) ## add the optional engines and warehouse drivers (PySpark, PostgreSQL) to .venv (= make setup ENGINES=1)
	@echo "engine drivers ready: $(VENV)"

report: $(STAMP) ## render a study's reports: make report STUDY=2024-annual [JOBS=2 FORCE=1 ONLY=name]
	$(BIN)/python -m insight report $(STUDY) $(RUN_FLAGS)

pdf: $(STAMP) ## the rendered study as one PDF, a bookmark per report (needs Debian's chromium): make pdf STUDY=...
	$(BIN)/python -m insight pdf $(STUDY)

validate: $(STAMP) ## check a study's params and data without running anything
	$(BIN)/python -m insight validate $(STUDY)

map: $(STAMP) ## suggest a mapping of an export: make map FILE=export.csv [TABLE=customers SHEET=name STUDY=name]
	$(BIN)/python -m insight map "$(FILE)" $(if $(TABLE),--table $(TABLE)) $(if $(SHEET),--sheet "$(SHEET)") $(if $(filter-out file,$(origin STUDY)),--study $(STUDY))

test: $(STAMP) $(ENGINES_STAMP) ## run the whole test suite (units, references, notebooks, browser)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lab: $(STAMP) ## start JupyterLab in the project environment
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

new-study: $(STAMP) ## scaffold params/$(STUDY).yaml from the commented template (never overwrites)
	$(BIN)/python -m insight new-study $(STUDY)

bench: $(STAMP) ## benchmark the report at 1M and 10M order lines side by side: make bench [SCALE=25] [BENCH_ARGS="--repeat 3"]
	$(BIN)/python -m insight.bench $(if $(SCALE),--scale $(SCALE)) $(BENCH_ARGS)

lock: ## re-resolve requirements.in into requirements.lock (needs the package registry)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -r requirements.in
	.lock-venv/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .lock-venv

clean: ## remove reports and caches (keeps the environment)
	rm -rf reports .cache
