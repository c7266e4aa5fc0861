# One command sets everything up and runs the job: `make local` (the sample app on
# http://127.0.0.1:3000, no AWS account needed; `make local PORT=3005` for another port),
# `make synth` (its templates into cdk.out/) or `make test` (the whole suite). Set-up reruns
# only when pyproject.toml, constraints.txt, requirements-checkov.txt or the npm lock change.
VENV := .venv
PY := $(VENV)/bin/python
# The venv runs on the Python of the Lambda runtime the construct deploys (serverless_meta/powertools.py),
# so that the handler tests run on it: python3.13 from PATH, or pyenv's; PYTHON=... names another.
RUNTIME_PYTHON := 3.13
PYTHON ?= $(firstword $(foreach candidate,python$(RUNTIME_PYTHON) $(wildcard $(HOME)/.pyenv/versions/$(RUNTIME_PYTHON).*/bin/python$(RUNTIME_PYTHON)),$(shell $(candidate) -c 'print("$(candidate)")' 2>/dev/null)))
PORT ?= 3000
# The supported Node.js and the cdk CLI come from our own npm dependencies; jsii
# (which aws-cdk-lib runs on) and cdk both find node through PATH.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup local synth test
.DEFAULT_GOAL := local

setup: $(VENV)/.installed node_modules/.installed

# The venv also puts the handler code's roots on its path, as Lambda imports them (crud_api, and
# crud_worker from its layer), for the tools that read it as code: lint-imports (the walls), a debugger.
$(VENV)/.installed: pyproject.toml constraints.txt Makefile
	@test -n "$(PYTHON)" || { echo "make: no Python $(RUNTIME_PYTHON) (the Lambda runtime's) found: install it, or pass PYTHON=/path/to/python$(RUNTIME_PYTHON)" >&2; exit 1; }
	$(PY) --version 2>/dev/null | grep -q '^Python $(RUNTIME_PYTHON)\.' || rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "serverless_meta_handler_code.pth").write_text("$(CURDIR)/lambda\n$(CURDIR)/lambda/worker_layer/python\n")'
	touch $@

# checkov pins an old boto3, so it lives in a venv of its own; the tests run it from there. Its pins
# (requirements-checkov.txt) are Python 3.11's: python3.11 where the machine has it, else python3.
CHECKOV_PYTHON ?= $(firstword $(shell command -v python3.11 2>/dev/null) python3)
.venv-checkov/.installed: requirements-checkov.txt
	rm -rf .venv-checkov
	$(CHECKOV_PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --upgrade pip
	.venv-checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

local: setup
	$(VENV)/bin/serverless-meta local --port $(PORT)

synth: setup
	npx cdk synth --quiet

test: setup .venv-checkov/.installed
	$(PY) -m pytest
