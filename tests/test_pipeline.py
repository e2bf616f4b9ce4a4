"""The delivery pipeline as GitHub would run it: promotion order, approvals, waits, concurrency, drift, pins.

Read from the workflow files themselves (and the actions' declared inputs recorded from their action.yml at the
pinned commits), so a workflow edit that breaks one of these properties fails here, not on GitHub.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.ai_api.release import (
    TIMEOUT_ANNOTATION,
    WAIT_FOR_ANNOTATION,
    release_timeout_seconds,
)
from ops.engine import PROJECT_DIR
from tests.conftest import STACKS, build_plan, stack_config
from tests.manifests import kubernetes_objects, manifest

WORKFLOW_DIR = PROJECT_DIR / ".github" / "workflows"
ACTION_FILES = sorted((PROJECT_DIR / ".github" / "actions").glob("*/action.yml"))
RECORDED = json.loads((PROJECT_DIR / "tests" / "fixtures" / "action_inputs.json").read_text())["actions"]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if True in data:  # PyYAML reads the bare key `on` as True (YAML 1.1)
        data["on"] = data.pop(True)
    return data


def workflow(name: str) -> dict[str, Any]:
    return _load(WORKFLOW_DIR / name)


def _needs(job: dict[str, Any]) -> set[str]:
    needs = job.get("needs", [])
    return {needs} if isinstance(needs, str) else set(needs)


def _ancestors(jobs: dict[str, Any], name: str) -> set[str]:
    found: set[str] = set()
    for parent in _needs(jobs[name]):
        found |= {parent} | _ancestors(jobs, parent)
    return found


def _steps() -> list[tuple[str, dict[str, Any]]]:
    """(file, step) for every step of every workflow job and composite action."""
    found = []
    for path in sorted(WORKFLOW_DIR.glob("*.yml")):
        for job in workflow(path.name)["jobs"].values():
            found += [(path.name, step) for step in job.get("steps", [])]
    for path in ACTION_FILES:
        found += [(str(path.relative_to(PROJECT_DIR)), step) for step in _load(path)["runs"].get("steps", [])]
    return found


# --- promotion -----------------------------------------------------------------------------------------------------


def test_promotion_runs_dev_then_staging_then_smoke_tests_then_prod_then_a_health_check() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert {"test", "scan"} <= _needs(jobs["dev"])
    assert [jobs[s]["with"]["stack"] for s in ("dev", "staging", "prod")] == ["dev", "staging", "prod"]
    assert _needs(jobs["staging"]) == {"dev"}
    assert _needs(jobs["smoke-staging"]) == {"staging"}
    assert _needs(jobs["prod"]) == {"smoke-staging"}, "prod starts only after the smoke tests of staging passed"
    assert {"dev", "staging", "smoke-staging", "test", "scan"} <= _ancestors(jobs, "prod")
    assert _needs(jobs["verify-prod"]) == {"prod"}
    for job, stack in (("smoke-staging", "staging"), ("verify-prod", "prod")):
        command = " ".join(step.get("run", "") for step in jobs[job]["steps"])
        assert "ops.smoke" in command
        assert str(jobs[job]["steps"][-1]["env"]["API_URL"]) == f"${{{{ needs.{stack}.outputs.api-url }}}}"


def test_prod_waits_for_the_prod_environment_approval_and_deploys_main_only() -> None:
    up = workflow("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}", "the approval is the environment's required reviewers"
    deploy = workflow("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    for name in ("deploy.yml", "release.yml", "rollback.yml", "drift.yml"):
        jobs = workflow(name)["jobs"]
        roots = [job for job in jobs.values() if not _needs(job)]
        assert roots, name
        assert all(job.get("if") == "github.ref == 'refs/heads/main'" for job in roots), name


def test_pulumi_up_waits_for_the_release_to_finish_and_outlasts_it() -> None:
    for stack in STACKS:
        config = stack_config(stack).api
        assert config is not None
        rollouts = [manifest(r) for r in kubernetes_objects(build_plan(stack)) if r.inputs.get("kind") == "Rollout"]
        if config.strategy == "rolling":
            assert not rollouts  # a Deployment: pulumi-kubernetes waits for it natively
            continue
        annotations = rollouts[0]["metadata"]["annotations"]
        assert annotations[WAIT_FOR_ANNOTATION] == "jsonpath={.status.phase}=Healthy"
        timeout = int(annotations[TIMEOUT_ANNOTATION])
        assert timeout == release_timeout_seconds(config)
    up = workflow("pulumi-up.yml")["jobs"]["up"]
    aws = next(s for s in up["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    job_seconds = up["timeout-minutes"] * 60
    assert int(aws["with"]["role-duration-seconds"]) > job_seconds, "the OIDC session outlives the job"
    # The slowest configured release (prod canary, or prod blue-green with a person promoting) fits in the job.
    prod_blue_green = stack_config("prod", {"ai-platform:api": {"strategy": "blue-green"}}).api
    assert prod_blue_green is not None
    assert release_timeout_seconds(prod_blue_green) < job_seconds - 30 * 60


def test_the_release_timeout_covers_every_pause_and_the_analysis_verdict() -> None:
    canary = stack_config("prod", {"ai-platform:api": {"canary": {"pause_minutes": [10, 20, 30]}}}).api
    assert canary is not None
    pauses = 60 * 60
    verdict = canary.analysis.interval_seconds * (canary.analysis.failure_limit + 1)
    assert release_timeout_seconds(canary) > pauses + verdict
    assert release_timeout_seconds(canary) - release_timeout_seconds(stack_config("prod").api) == 35 * 60  # type: ignore[arg-type]
    manual = stack_config("prod", {"ai-platform:api": {"strategy": "blue-green"}}).api
    auto = stack_config("staging").api
    assert manual is not None
    assert auto is not None
    assert auto.blue_green.auto_promotion
    assert release_timeout_seconds(manual) > release_timeout_seconds(auto) + 30 * 60  # a person has time to promote


def test_one_update_per_stack_and_prod_waiting_never_holds_up_dev() -> None:
    assert "concurrency" not in workflow("deploy.yml"), "no pipeline-wide group: it would queue dev behind prod"
    up = workflow("pulumi-up.yml")["jobs"]["up"]
    assert up["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}
    drift = workflow("drift.yml")["jobs"]["drift"]
    assert drift["concurrency"]["group"] != up["concurrency"]["group"].replace("inputs.stack", "matrix.stack")


def test_drift_runs_daily_per_stack_and_keeps_one_issue_per_drifted_stack() -> None:
    drift = workflow("drift.yml")
    cron = drift["on"]["schedule"][0]["cron"].split()
    assert len(cron) == 5
    assert cron[2:] == ["*", "*", "*"], "daily"
    job = drift["jobs"]["drift"]
    assert job["strategy"]["matrix"]["stack"] == list(STACKS)
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pulumi preview" in script
    assert "--refresh" in script
    assert "--expect-no-changes" in script
    assert 'title="Drift in stack $STACK"' in script
    assert "--label drift" in script
    assert "gh issue edit" in script
    assert "gh issue create" in script
    assert "gh issue close" in script
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}


def test_previews_are_posted_even_when_they_fail() -> None:
    steps = workflow("pull-request.yml")["jobs"]["preview"]["steps"]
    preview = next(s for s in steps if s.get("id") == "preview")
    assert preview["continue-on-error"] is True
    assert "--policy-pack policy" in preview["run"]
    post = next(s for s in steps if "comments" in s.get("run", ""))
    assert post["if"].startswith("always()")
    assert steps[-1]["if"] == "steps.preview.outcome == 'failure'"
    assert "exit 1" in steps[-1]["run"]


def test_release_takes_a_validated_digest_checks_ecr_and_records_it() -> None:
    release = workflow("release.yml")
    assert release["on"]["workflow_dispatch"]["inputs"]["digest"]["required"] is True
    jobs = release["jobs"]
    assert "^sha256:[0-9a-f]{64}$" in jobs["validate"]["steps"][0]["run"]
    assert "ops image check" in str(jobs["check-image"]["steps"])
    assert jobs["check-image"]["strategy"]["matrix"]["stack"] == list(STACKS)
    assert _needs(jobs["record"]) == {"check-image"}
    assert "ops image record" in str(jobs["record"]["steps"])


def test_rollback_goes_through_the_same_deployment_and_documents_the_abort() -> None:
    rollback = workflow("rollback.yml")
    assert rollback["on"]["workflow_dispatch"]["inputs"]["stack"]["options"] == list(STACKS)
    assert rollback["jobs"]["rollback"]["uses"] == "./.github/workflows/pulumi-up.yml"
    assert "kubectl argo rollouts abort ai-api -n ai-api" in (WORKFLOW_DIR / "rollback.yml").read_text()


# --- workflow hygiene ----------------------------------------------------------------------------------------------


def test_every_action_is_pinned_by_commit_and_every_input_is_declared_at_that_commit() -> None:
    for where, step in _steps():
        uses = step.get("uses")
        if not uses:
            continue
        if uses.startswith("./"):
            declared = _load(PROJECT_DIR / uses / "action.yml").get("inputs", {}) or {}
            assert set(step.get("with", {})) <= set(declared), (where, uses)
            continue
        name, _, ref = uses.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{where}: {uses} is not pinned by commit"
        assert name in RECORDED, f"{where}: {uses} has no recorded inputs"
        assert RECORDED[name]["sha"] == ref, f"{where}: {uses} is not the commit whose inputs are recorded"
        inputs = RECORDED[name]["inputs"]
        unknown = set(step.get("with", {})) - set(inputs)
        assert not unknown, f"{where}: {name} declares no input {sorted(unknown)} at {ref}"
        missing = {k for k, v in inputs.items() if v["required"]} - set(step.get("with", {}))
        assert not missing, f"{where}: {name} requires {sorted(missing)}"


def test_permissions_are_least_per_job_and_aws_only_where_reached() -> None:
    for path in sorted(WORKFLOW_DIR.glob("*.yml")):
        data = workflow(path.name)
        assert data.get("permissions") in ({}, {"contents": "read"}), path.name
        for name, job in data["jobs"].items():
            assert "permissions" in job, f"{path.name}: {name} sets no permissions"
            steps = job.get("steps", [])
            reaches_aws = any("configure-aws-credentials" in s.get("uses", "") for s in steps) or "uses" in job
            if job.get("permissions", {}).get("id-token") == "write":
                assert reaches_aws, f"{path.name}: {name} asks for an OIDC token it never uses"
            text = yaml.safe_dump(job)
            assert "secrets." not in text or name == "record", f"{path.name}: {name} handles a secret"


def test_the_cli_is_the_release_that_ships_the_locked_sdk() -> None:
    lock = (PROJECT_DIR / "requirements.lock").read_text()
    sdk = re.search(r"^pulumi==(\S+)", lock, re.MULTILINE)
    assert sdk is not None
    assert (PROJECT_DIR / ".pulumi-version").read_text().strip() == sdk.group(1)
    toolchain = _load(PROJECT_DIR / ".github" / "actions" / "toolchain" / "action.yml")
    cli = next(s for s in toolchain["runs"]["steps"] if "pulumi/actions" in s.get("uses", ""))
    assert cli["with"] == {"pulumi-version-file": ".pulumi-version"}


def test_the_policy_packs_virtualenv_is_built_where_the_cli_runs_it_from_a_lock_in_step_with_the_project() -> None:
    pack = yaml.safe_load((PROJECT_DIR / "policy" / "PulumiPolicy.yaml").read_text())
    venv = pack["runtime"]["options"]["virtualenv"]
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert re.search(rf"^POLICY_VENV := policy/{re.escape(venv)}$", makefile, re.MULTILINE)
    assert "--require-hashes -r policy/requirements.lock" in makefile
    policy_lock = (PROJECT_DIR / "policy" / "requirements.lock").read_text()
    project_lock = (PROJECT_DIR / "requirements.lock").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+==\S+) \\$", policy_lock, re.MULTILINE)
    assert pins
    assert all(f"\n{pin} \\" in project_lock for pin in pins), "the pack runs the project's versions"
    wanted = re.findall(r"^([A-Za-z0-9_-]+)", (PROJECT_DIR / "policy" / "requirements.txt").read_text(), re.M)
    assert {w.lower() for w in wanted} <= {p.split("==")[0].lower() for p in pins}
    assert "--hash=sha256:" in policy_lock


@pytest.mark.parametrize("name", ["pull-request.yml", "drift.yml", "pulumi-up.yml"])
def test_jobs_that_reach_the_cluster_take_their_runner_from_a_repository_variable(name: str) -> None:
    for job in workflow(name)["jobs"].values():
        if any("configure-aws-credentials" in s.get("uses", "") for s in job.get("steps", [])) and "toolchain" in str(
            job["steps"]
        ):
            assert job["runs-on"] == "${{ vars.DEPLOY_RUNNER || 'ubuntu-24.04' }}"
            assert job["steps"][0]["if"] == "vars.DEPLOY_RUNNER == ''"
            assert "exit 1" in job["steps"][0]["run"]
