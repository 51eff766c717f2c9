# Every target creates the virtualenv and installs the requirements first (once).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= dev

.PHONY: setup demo plan check test lint bench lock clean

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

## The whole test suite, one worker per core (pytest-xdist); a test file stays on one worker, so
## its module fixtures (a sandbox run, an evaluated stack) are built once.
test: setup
	$(PY) -m pytest -n auto --dist loadfile

## Benchmarks with their baselines; writes benchmarks/RESULTS.md (~10 min with the 1 GB file).
bench: setup
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	$(PY) -m benchmarks

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) tools/function_length.py
	$(VENV)/bin/zizmor --offline --persona auditor .github/workflows

## requirements.lock: requirements.txt with every package pinned and hashed, for the workflows'
## pip install --require-hashes. Run after editing requirements.txt (LOCK_ARGS=--upgrade to move
## every pin); Python 3.12 as in CI, pip-tools in a throwaway venv, hashes from PyPI.
LOCK_PYTHON ?= python3.12
lock:
	$(LOCK_PYTHON) -m venv .build/pip-tools
	.build/pip-tools/bin/python -m pip install --quiet pip-tools==7.7.0
	CUSTOM_COMPILE_COMMAND="make lock" .build/pip-tools/bin/pip-compile --quiet --generate-hashes \
	    --allow-unsafe --strip-extras --index-url https://pypi.org/simple --no-emit-index-url \
	    $(LOCK_ARGS) --output-file requirements.lock requirements.txt

clean:
	rm -rf $(VENV) .build .pytest_cache .ruff_cache
