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

# The first run installs about 90 packages (a minute or two); say so instead of staying silent.
$(VENV)/.installed: requirements-dev.txt constraints.txt src/notifier/requirements.txt
	@echo "creating $(VENV) with $(PYTHON_BASE) and installing the packages of requirements-dev.txt (first run only, one to two minutes)..."
	@$(PYTHON_BASE) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c constraints.txt -r requirements-dev.txt
	@touch $@
	@echo "$(VENV) ready"

# The command line is installed as a pipeline would install it (not editable), so the tests run
# the real `apcu-flush` entry point; any change to it reinstalls it.
$(VENV)/.cli-installed: $(VENV)/.installed cli/pyproject.toml $(wildcard cli/apcu_flush/*.py)
	$(PY) -m pip install -q --no-deps --force-reinstall ./cli
	touch $@

# aws-sam-cli pins its own boto3, so it lives in a venv of its own.
$(SAM_VENV)/.installed: constraints-sam.txt
	@echo "creating $(SAM_VENV) and installing the aws-sam-cli of constraints-sam.txt (first run only, about a minute)..."
	@$(PYTHON_BASE) -m venv $(SAM_VENV)
	@$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	@$(SAM_VENV)/bin/python -m pip install -q -c constraints-sam.txt aws-sam-cli
	@touch $@
	@echo "$(SAM_VENV) ready"

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
	cd src/clear && ../../$(VENV)/bin/mypy --config-file ../../pyproject.toml --cache-dir ../../.mypy_cache .
	$(VENV)/bin/mypy --config-file pyproject.toml local bench harness cli/apcu_flush .github/scripts

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
# pytest-xdist runs the tests on one worker per core; tests/conftest.py keeps a module whose
# tests share a started server on one worker (loadgroup). PYTEST_WORKERS=0 runs them in one.
PYTEST_WORKERS ?= auto
.PHONY: pytest
pytest: venv system-deps $(SAM_VENV)/.installed ## every test, without lint and template checks
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

.PHONY: test
test: lint template pytest ## everything CI runs: lint, types, template checks, all tests

# The language of the demo's Slack messages: `make demo LANGUAGE=ja`, or MESSAGE_LANGUAGE=ja in
# the environment, as the notifier itself reads it. LANGUAGE is taken from the command line only:
# in the environment it is gettext's locale list (e.g. en_US:en).
DEMO_LANGUAGE := $(if $(filter command line,$(origin LANGUAGE)),$(LANGUAGE),$(or $(MESSAGE_LANGUAGE),en))

.PHONY: demo
# SLACK=app without SCENARIO: an alert in Slack app mode, and its retry button pressed; any other
# SLACK or SCENARIO is handed to local.run, which refuses one it does not know, and says so.
demo: venv ## the whole flow on this machine, no AWS account (SCENARIO=ok|no-targets|mismatch|partial|failed|lost-notification|stuck|stopped|cancelled|retry|warm-pool|opcache|dry-run; LANGUAGE=en|ja; SLACK=app: Slack app mode, the retry button pressed)
	$(PY) -m local.run $(if $(SCENARIO),--scenario $(SCENARIO),$(if $(filter app,$(SLACK)),,--all)) $(if $(SLACK),--slack $(SLACK)) --lang $(DEMO_LANGUAGE)

# Each bench exits 1 when it missed a target; both run, and then make fails if either missed.
.PHONY: bench
bench: venv $(SAM_VENV)/.installed ## the durable clear: cold path, per-clear cost, notification to Slack, 20,000 instances, artifacts; the web node (fails on a missed target)
	$(SAM_ENV) $(SAM) build --parallel
	@status=0; \
	$(PY) -m bench.run || status=1; \
	{ .ci/system-deps && $(PY) -m bench.webnode; } || status=1; \
	exit $$status

.PHONY: build invoke deploy
build: $(SAM_VENV)/.installed ## sam build
	$(SAM_ENV) $(SAM) build --parallel
EVENT ?= events/dispatcher/console-dry-run.json
invoke: build ## sam local invoke a stored event with events/env.json (needs Docker; EVENT=events/...)
	$(SAM_ENV) $(SAM) local invoke $(if $(findstring /notifier/,$(EVENT)),NotifierFunction,DispatcherFunction) \
		-e $(EVENT) --env-vars events/env.json
deploy: build ## sam deploy (ENV=default|prod)
	$(SAM_ENV) $(SAM) deploy --config-env $(or $(ENV),default)

# A deploy that changed only parameters publishes no notifier version, so clears keep the old
# settings until this moves the alias (.github/scripts/sync_notifier_alias.py); the deploy
# workflow runs it after every deploy, a hand deploy needs it too.
.PHONY: sync-notifier
sync-notifier: venv ## after a hand deploy: the notifier's alias on $LATEST's settings (STACK=, REGION=)
	@test -n "$(STACK)" -a -n "$(REGION)" || { echo "usage: make sync-notifier STACK=<stack> REGION=<region>"; exit 2; }
	$(PY) .github/scripts/sync_notifier_alias.py --stack "$(STACK)" --region "$(REGION)"

# Pins what CI tests; a deploy next month builds the same. Re-pinning installs the newest
# versions requirements-dev.txt and aws-sam-cli allow into throwaway venvs and freezes them.
.PHONY: constraints
constraints: ## re-pin constraints.txt and constraints-sam.txt to the newest allowed versions (then run make test)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	echo "installing requirements-dev.txt into a throwaway venv..." && \
	$(PYTHON_BASE) -m venv "$$tmp/dev" && "$$tmp/dev/bin/pip" install -q -r requirements-dev.txt && \
	{ grep '^#' constraints.txt; "$$tmp/dev/bin/pip" freeze --all --exclude pip; } > "$$tmp/c.txt" && \
	echo "installing aws-sam-cli into a throwaway venv..." && \
	$(PYTHON_BASE) -m venv "$$tmp/sam" && "$$tmp/sam/bin/pip" install -q aws-sam-cli && \
	{ grep '^#' constraints-sam.txt; "$$tmp/sam/bin/pip" freeze --all --exclude pip; } > "$$tmp/s.txt" && \
	mv "$$tmp/c.txt" constraints.txt && mv "$$tmp/s.txt" constraints-sam.txt && \
	echo "constraints.txt and constraints-sam.txt re-pinned; also pin the Powertools layer (docs/deploy.md)"

.PHONY: clean
clean: ## remove build output, caches and the demo's files (keeps the virtualenvs)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache bench/results local/out cli/build cli/*.egg-info
