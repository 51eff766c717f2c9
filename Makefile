# Every target creates the virtualenv and installs the requirements first (once).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= dev

.PHONY: setup demo plan check test lint bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

## The main job on its embedded default: the whole pipeline locally, end to end.
demo: setup
	$(PY) -m cloudbridge sandbox

## Evaluate a stack offline (no Pulumi CLI, no AWS) and print what it would deploy.
plan: setup
	$(PY) -m cloudbridge plan --stack $(STACK)

## The stack-agnostic checks on this repository's own stack files (README, "Tests").
check: setup
	$(PY) -m pytest -q tests/stacks

## The whole test suite.
test: setup
	$(PY) -m pytest

## Benchmarks with their baselines; writes benchmarks/RESULTS.md (~10 min with the 1 GB file).
bench: setup
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	$(PY) -m benchmarks

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) tools/function_length.py
	$(VENV)/bin/zizmor --offline --persona auditor .github/workflows

clean:
	rm -rf $(VENV) .build .pytest_cache .ruff_cache
