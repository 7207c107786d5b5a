# Overcast — build, run and test.  Every target installs what it needs first (idempotent).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DATA_DIR ?= .overcast
ARGS ?=

# Debian packages the code and the tests need (grouped by what uses them).
DEB_PYTHON := python3 python3-venv python3-dev gcc ca-certificates
DEB_CLIENTS := awscli
DEB_DATABASE := postgresql
DEB_TEST := openssh-client openssl putty-tools
DEB_PACKAGES := $(DEB_PYTHON) $(DEB_CLIENTS) $(DEB_DATABASE) $(DEB_TEST)

.PHONY: install debs venv up test lint typecheck unit compat docs bench clean

install: debs venv

debs:
	@scripts/ensure-debs $(DEB_PACKAGES)

# The virtualenv is rebuilt only when pyproject.toml changes.
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | debs
	@test -x $(PY) || /usr/bin/python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

up: install
	$(VENV)/bin/overcast up --data-dir $(DATA_DIR) $(ARGS)

lint: install
	$(VENV)/bin/ruff check overcast tests compat-tests bench

typecheck: install
	$(VENV)/bin/mypy overcast/gateway overcast/core

unit: install
	$(VENV)/bin/pytest -q tests

compat: install
	$(VENV)/bin/pytest -q compat-tests

docs: install
	$(PY) -m overcast.gateway.coverage > docs/api-coverage.md

bench: install
	$(PY) bench/api_latency.py

test: install lint typecheck
	$(VENV)/bin/pytest -q -p no:cacheprovider tests compat-tests

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
