# One entry point for people and CI. `make test` creates .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Serving benchmarks want the kind of CPython the predictor's image runs: built with PGO and LTO
# (python:3.11-slim's is; a default source build is not, and runs the predictor ~30 % slower).
BENCH_PYTHON ?= /usr/bin/python3.11
BENCH_VENV ?= .venv-bench

# $(call new_venv,PYTHON,FOLDER): a virtual environment with every requirement of the repository.
define new_venv
	$(1) -m venv $(2)
	$(2)/bin/python -m pip install --quiet --upgrade pip
	$(2)/bin/python -m pip install --quiet -r requirements-dev.txt
	touch $@
endef

.PHONY: help venv bench-venv test test-fast lint format train report benchmark clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements-dev.txt $(wildcard */requirements.txt)
	$(call new_venv,$(PYTHON),$(VENV))

$(BENCH_VENV)/.installed: requirements-dev.txt $(wildcard */requirements.txt)
	$(call new_venv,$(BENCH_PYTHON),$(BENCH_VENV))

venv: $(VENV)/.installed  ## create .venv with every service's requirements and the test tools

bench-venv: $(BENCH_VENV)/.installed  ## the same in .venv-bench on an optimized CPython (BENCH_PYTHON), for serving benchmarks

test: venv  ## lint, then run the whole test suite (unit + integration against real services)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

test-fast: venv  ## the same without the end-to-end Docker stack test (quicker while developing)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not e2e"

lint: venv  ## ruff: lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv  ## apply ruff's formatting
	$(VENV)/bin/ruff format .

train: venv  ## train the three runs (MLFLOW_TRACKING_URI, MNIST_PATH, ... from the environment)
	$(PY) -m trainer

report: venv  ## write reports/experiment-report.{md,html,docx} from MLFLOW_TRACKING_URI
	$(PY) -m trainer report

benchmark: venv  ## full-MNIST benchmark of the default configuration (docs/performance.md)
	$(PY) benchmarks/train_benchmark.py

clean:  ## remove the local store and caches (keeps .venv)
	rm -rf mlruns-local reports .pytest_cache .ruff_cache test-artifacts
