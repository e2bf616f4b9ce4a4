"""GitHub Actions workflows: valid for actionlint and the workflow JSON schema, and shaped as the README says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ops.engine import PROJECT_DIR

WORKFLOWS = sorted((PROJECT_DIR / ".github" / "workflows").glob("*.yml"))


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: it comes with requirements-dev.txt (make test installs it)")
    return found


def _load(name: str) -> dict:
    # PyYAML reads the bare key `on` as True (YAML 1.1); GitHub reads it as "on".
    data = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def test_actionlint_finds_nothing() -> None:
    result = subprocess.run([_tool("actionlint"), *map(str, WORKFLOWS)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_match_the_github_schema() -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_actions_match_the_github_action_schema() -> None:
    actions = sorted((PROJECT_DIR / ".github" / "actions").glob("*/action.yml"))
    assert actions
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", *map(str, actions)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_pull_requests_run_tests_and_gate_every_stack_before_any_preview() -> None:
    workflow = _load("pull-request.yml")
    jobs = workflow["jobs"]
    assert "make test" in str(jobs["test"]["steps"])
    assert jobs["offline-gate"]["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    assert "make plan" in str(jobs["offline-gate"]["steps"])
    assert set(jobs["preview"]["needs"]) == {"test", "offline-gate"}
    preview = next(s for s in jobs["preview"]["steps"] if s.get("id") == "preview")
    assert "pulumi preview" in preview["run"]
    assert "--policy-pack policy" in preview["run"]


def test_deploys_promote_dev_then_staging_then_prod_with_the_policy_pack() -> None:
    jobs = _load("deploy.yml")["jobs"]
    assert set(jobs["dev"]["needs"]) == {"test", "scan"}
    assert jobs["staging"]["needs"] == "dev"
    assert jobs["prod"]["needs"] == "smoke-staging"  # staging is smoke-tested before prod
    assert [jobs[s]["with"]["stack"] for s in ("dev", "staging", "prod")] == ["dev", "staging", "prod"]
    up = _load("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}", "prod approval comes from the GitHub environment"
    assert up["concurrency"]["cancel-in-progress"] is False
    step = next(s for s in up["steps"] if "pulumi up" in s.get("run", ""))
    assert "--policy-pack policy" in step["run"]


def test_no_workflow_uses_long_lived_aws_keys() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        assert "AWS_SECRET_ACCESS_KEY" not in text, path.name
        assert "aws-access-key-id" not in text, path.name
