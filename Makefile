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
CHECKOV_VENV := .venv-checkov
CHECKOV     := $(CHECKOV_VENV)/bin/checkov
# checkov asks Prisma Cloud for check metadata and PyPI for a newer checkov unless told not to;
# CI reaches PyPI only, and the result must not depend on either.
CHECKOV_ENV := BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true

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

# checkov pins packages of its own, so it too lives in a venv of its own; its version is
# pinned in requirements-checkov.txt, because a new release brings new checks.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON_BASE) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements-checkov.txt
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
	cd src/record && ../../$(VENV)/bin/mypy --config-file ../../pyproject.toml --cache-dir ../../.mypy_cache .
	$(VENV)/bin/mypy --config-file pyproject.toml local bench harness cli/apcu_flush

# checkov exits non-zero on any failed check. A check that does not apply is suppressed in
# the resource's own Metadata (checkov: skip: - id, comment: the reason); tests/stack/
# test_checkov.py refuses a suppression without a reason. docs/deploy.md says more.
.PHONY: template
template: venv $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed ## cfn-lint, checkov, sam validate --lint, sam build
	$(VENV)/bin/cfn-lint template.yaml
	$(CHECKOV_ENV) $(CHECKOV) -f template.yaml --framework cloudformation --compact --quiet --skip-download
	$(SAM_ENV) $(SAM) validate --lint --region us-east-1
	$(SAM_ENV) $(SAM) build --parallel

# The publishing test runs `sam publish`'s own metadata code, which lives in .venv-sam.
.PHONY: pytest
pytest: venv system-deps $(SAM_VENV)/.installed
	$(PY) -m pytest

.PHONY: test
test: lint template pytest ## everything CI runs: lint, types, template checks, all tests

.PHONY: demo
demo: venv ## the whole flow on this machine, no AWS account (SCENARIO=ok|no-targets|mismatch|partial|failed|lost-notification|stuck)
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
