# One target per habit. `make demo` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BASE := $(shell .ci/find-python)
PYTHON_DIR  := $(dir $(PYTHON_BASE))
VENV        := .venv
PY          := $(VENV)/bin/python
SAM_VENV    := .venv-sam
SAM         := $(SAM_VENV)/bin/sam
# sam build looks for python3.13 on PATH; put the chosen interpreter first.
SAM_ENV     := PATH="$(abspath $(PYTHON_DIR)):$$PATH" SAM_CLI_TELEMETRY=0

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt src/notifier/requirements.txt
	$(PYTHON_BASE) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# The command line is installed as a pipeline would install it (not editable), so the tests run
# the real `apcu-flush` entry point; any change to it reinstalls it.
$(VENV)/.cli-installed: $(VENV)/.installed cli/pyproject.toml $(wildcard cli/apcu_flush/*.py)
	$(PY) -m pip install -q --no-deps --force-reinstall ./cli
	touch $@

# aws-sam-cli pins its own boto3, so it lives in a venv of its own.
$(SAM_VENV)/.installed:
	$(PYTHON_BASE) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q aws-sam-cli
	touch $@

.PHONY: venv system-deps
venv: $(VENV)/.installed $(VENV)/.cli-installed ## create .venv with everything the tests need, and apcu-flush
system-deps: ## install nginx, php-fpm and APCu from Debian packages (once)
	.ci/system-deps

.PHONY: lint
lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# Each function is checked from its own folder, as Lambda loads it; the cache stays at the
	# top so that sam build never copies it into an artifact.
	cd src/notifier && ../../$(VENV)/bin/mypy --config-file ../../pyproject.toml --cache-dir ../../.mypy_cache .
	cd src/dispatcher && ../../$(VENV)/bin/mypy --config-file ../../pyproject.toml --cache-dir ../../.mypy_cache .
	$(VENV)/bin/mypy --config-file pyproject.toml local bench harness cli/apcu_flush

.PHONY: template
template: venv $(SAM_VENV)/.installed ## cfn-lint, sam validate --lint, sam build
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_ENV) $(SAM) validate --lint --region us-east-1
	$(SAM_ENV) $(SAM) build --parallel

.PHONY: pytest
pytest: venv system-deps
	$(PY) -m pytest

.PHONY: test
test: lint template pytest ## everything CI runs: lint, types, template checks, all tests

.PHONY: demo
demo: venv ## the whole flow on this machine, no AWS account (SCENARIO=ok|no-targets|mismatch|partial|failed)
	$(PY) -m local.run $(if $(SCENARIO),--scenario $(SCENARIO),--all)

.PHONY: bench
bench: venv $(SAM_VENV)/.installed ## cold start, calls per verdict, scaling, artifact size
	$(SAM_ENV) $(SAM) build --parallel
	$(PY) -m bench.run

.PHONY: build invoke deploy
build: $(SAM_VENV)/.installed ## sam build
	$(SAM_ENV) $(SAM) build --parallel
invoke: build ## sam local invoke the notifier with a stored event (needs Docker)
	$(SAM_ENV) $(SAM) local invoke NotifierFunction --event events/notifier/command-success.json
deploy: build ## sam deploy (ENV=default|prod)
	$(SAM_ENV) $(SAM) deploy --config-env $(or $(ENV),default)

.PHONY: clean
clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache bench/results local/out cli/build cli/*.egg-info
