# The two commands a newcomer needs:
#   make plan    offline plan + policy gate of a stack (STACK=dev by default; STACK=prod make plan for another);
#                with the Pulumi CLI and AWS credentials present it also runs `pulumi preview` with the policy pack.
#   make test    the format check, ruff, mypy and the whole test suite.
# Both create the virtualenv in .venv and install what they need on first use, from requirements.lock (exact
# versions with hashes); `make lock` re-resolves the lock from the ranges in requirements*.txt (upgrades).
# `make up` applies a stack for real (Pulumi CLI + AWS credentials required), after the same offline gate.
# `make scan` is the pipeline's security scan of a stack (checkov over the plan, pip-audit over the lock), with the
# scanners in their own virtualenvs (.venv-checkov, .venv-audit) so that they never change the project's versions.

STACK ?= dev
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# The policy pack's per-environment config: the stack's `ai-platform:environment` (a stack name may differ).
ENVIRONMENT = $(shell $(PY) -c "import yaml; print(yaml.safe_load(open('Pulumi.$(STACK).yaml'))['config']['ai-platform:environment'])")
POLICY_CONFIG = policy/config/$(ENVIRONMENT).json
# The policy pack's own virtualenv: PulumiPolicy.yaml's `virtualenv: .venv`, relative to the pack. The Pulumi CLI runs
# the pack with `policy/.venv/bin/python -m pulumi.policy` and never creates it: this target does, from the pack's lock.
POLICY_VENV := policy/.venv
POLICY_INSTALLED := $(POLICY_VENV)/.installed

.PHONY: plan test up bench lock clean install policy-venv scan

$(INSTALLED): requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(POLICY_INSTALLED): policy/requirements.lock
	test -x $(POLICY_VENV)/bin/python || $(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/python -m pip install --quiet --require-hashes -r policy/requirements.lock
	touch $@

policy-venv: $(POLICY_INSTALLED)

# Both virtualenvs, nothing else (CI's toolchain step).
install: $(INSTALLED) $(POLICY_INSTALLED)

plan: $(INSTALLED)
	$(PY) -m ops plan --stack $(STACK) --gate
	@if command -v pulumi >/dev/null 2>&1 && $(PY) -c "import boto3,sys; sys.exit(0 if boto3.Session().get_credentials() else 1)"; then \
		$(MAKE) --no-print-directory policy-venv && \
		pulumi preview --stack $(STACK) --policy-pack policy --policy-pack-config $(POLICY_CONFIG); \
	else \
		echo "(no Pulumi CLI or no AWS credentials: offline plan and gate only; see README 'Deploying for real')"; \
	fi

up: plan $(POLICY_INSTALLED)
	pulumi up --stack $(STACK) --policy-pack policy --policy-pack-config $(POLICY_CONFIG)

test: $(INSTALLED)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

scan: $(INSTALLED)
	$(PY) -m ops scan --stack $(STACK)

bench: $(INSTALLED)
	$(PY) bench/plan_bench.py
	$(PY) bench/deploy_time.py

# Re-resolve every dependency from the ranges in requirements*.txt to the newest allowed versions, with hashes.
lock: $(INSTALLED)
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --upgrade --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements.lock requirements-dev.txt
	# The policy pack's lock: the same versions (constrained by the project's lock), only what the pack imports.
	cd policy && CUSTOM_COMPILE_COMMAND="make lock" ../$(PY) -m piptools compile --quiet --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links -c ../requirements.lock \
		--output-file requirements.lock requirements.txt

clean:
	rm -rf $(VENV) $(POLICY_VENV) .venv-checkov .venv-audit .pytest_cache .ruff_cache .mypy_cache .hypothesis
