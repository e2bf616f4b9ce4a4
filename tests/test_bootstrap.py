"""The bootstrap project (bootstrap/): plans offline, passes the gate, and declares what CI relies on: a protected,
encrypted, replicated state bucket; roles pinned to repository + environment; a preview role that writes nothing
but its lock; GitHub environments with prod's approvals; branch protection requiring the pull-request workflow's
jobs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from policy_sentry.querying.actions import get_action_data

from bootstrap import ci_policies
from bootstrap.repository import WorkflowError, check_names
from bootstrap.settings import REPOSITORY_ROOT, CiSettings, load_bootstrap_config
from config import StackConfigError
from lib import ci_names
from ops.__main__ import main
from ops.cost import estimate
from ops.engine import PROJECTS, Plan, RecordedResource, plan_project, read_stack_config
from ops.gate import evaluate
from policy.rules.iam_catalog import expand

STACK = "platform-account"
BOOTSTRAP_DIR = PROJECTS["bootstrap"].directory
IAM_INLINE_POLICY_QUOTA = 10_240  # characters of a role's inline policies together, whitespace excluded (IAM quotas)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_project("bootstrap", STACK)


def raw_config(**sections: Any) -> dict[str, Any]:
    """The shipped bootstrap stack's config with some sections replaced (`github={...}`) or removed (None)."""
    raw = read_stack_config(STACK, BOOTSTRAP_DIR)
    for section, value in sections.items():
        key = section if ":" in section else f"ai-platform-bootstrap:{section}"
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def doc(resource: RecordedResource, prop: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[prop])


def provider_region(plan: Plan, resource: RecordedResource) -> str:
    provider = plan.provider_of(resource)
    assert provider is not None
    return str(provider.inputs["region"])


# --- the gate ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preview", [False, True])
def test_bootstrap_plan_passes_the_gate(preview: bool) -> None:
    result = evaluate(plan_project("bootstrap", STACK, preview=preview), "prod")
    assert result.passed, [(v.rule, v.message) for v in result.mandatory]
    assert not result.advisory


def test_plan_command_gates_the_bootstrap(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project", "bootstrap", "--gate"]) == 0
    out = capsys.readouterr().out
    assert "ai-platform:state:StateBackend platform-account-backend" in out
    assert "gate PASS: stack platform-account (environment prod)" in out


def test_plan_command_refuses_an_unknown_bootstrap_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project", "bootstrap", "--stack", "nope"]) == 2
    assert "Pulumi.nope.yaml: no such stack file; allowed stacks: platform-account" in capsys.readouterr().err


def test_every_resource_type_is_costed(plan: Plan) -> None:
    est = estimate(plan)
    assert not est.not_priced, est.not_priced
    assert est.free["github:index/repositoryEnvironment:RepositoryEnvironment"] == 9
    assert any(line.type == "aws:kms/replicaKey:ReplicaKey" for line in est.lines)


# --- the state backend --------------------------------------------------------------------------------------------


def companions(plan: Plan, bucket: RecordedResource, type_: str) -> list[RecordedResource]:
    return [r for r in plan.by_type(type_) if bucket.urn in r.dependencies or r.inputs.get("bucket") == bucket.urn]


def test_state_bucket_is_protected_encrypted_versioned_and_logged(plan: Plan) -> None:
    bucket = plan.by_name("platform-account-backend-state")
    assert bucket.inputs["bucket"] == "ai-platform-state-123456789012-us-east-1"
    assert bucket.protect
    assert bucket.retainOnDelete
    encryption = plan.by_name("platform-account-backend-state-encryption").inputs["rules"][0]
    default = encryption["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"].startswith("arn:aws:kms:us-east-1:123456789012:key/mrk-")  # the state key
    assert encryption["bucketKeyEnabled"] is True
    assert plan.by_name("platform-account-backend-state-versioning").inputs["versioningConfiguration"] == {
        "status": "Enabled"
    }
    block = plan.by_name("platform-account-backend-state-public-access-block").inputs
    assert all(block[flag] for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                        "restrictPublicBuckets"))  # fmt: skip
    statements = doc(plan.by_name("platform-account-backend-state-policy"))["Statement"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)
    logging = plan.by_name("platform-account-backend-state-logging").inputs
    assert logging["targetBucket"] == "ai-platform-state-logs-123456789012-us-east-1"


def test_state_bucket_replicates_to_the_dr_region_with_the_replica_key(plan: Plan) -> None:
    replica = plan.by_name("platform-account-backend-state-replica")
    assert replica.protect
    assert replica.inputs["bucket"] == "ai-platform-state-123456789012-us-west-2"
    assert provider_region(plan, replica) == "us-west-2"
    rule = plan.by_name("platform-account-backend-state-replication").inputs["rules"][0]
    assert rule["status"] == "Enabled"
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert rule["destination"]["bucket"] == "arn:aws:s3:::ai-platform-state-123456789012-us-west-2"
    replica_key = rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"]
    assert replica_key.startswith("arn:aws:kms:us-west-2:123456789012:key/mrk-")
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    replica_encryption = plan.by_name("platform-account-backend-state-replica-encryption").inputs["rules"][0]
    assert replica_encryption["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == replica_key
    # S3 access logs only go to a bucket of the same region.
    dr_logs = plan.by_name("platform-account-backend-state-replica-logging")
    assert provider_region(plan, dr_logs) == "us-west-2"
    assert dr_logs.inputs["targetBucket"] == "ai-platform-state-logs-123456789012-us-west-2"


def test_keys_rotate_are_multi_region_and_protected(plan: Plan) -> None:
    for purpose in ("state", "secrets"):
        key = plan.by_name(f"platform-account-backend-{purpose}-key")
        assert key.inputs["multiRegion"] is True
        assert key.inputs["enableKeyRotation"] is True
        assert key.protect
        assert key.retainOnDelete
        replica = plan.by_name(f"platform-account-backend-{purpose}-replica-key")
        assert replica.protect
        assert provider_region(plan, replica) == "us-west-2"
    assert plan.outputs["secrets_provider"] == "awskms://alias/ai-platform/pulumi-secrets?region=us-east-1"
    assert plan.outputs["backend_url"] == "s3://ai-platform-state-123456789012-us-east-1"


def test_state_and_its_replica_are_backed_up_in_their_regions(plan: Plan) -> None:
    selections = plan.by_type("aws:backup/selection:Selection")
    selected = {r for s in selections for r in s.inputs["resources"]}
    assert selected == {"arn:aws:s3:::ai-platform-state-123456789012-us-east-1",
                        "arn:aws:s3:::ai-platform-state-123456789012-us-west-2"}  # fmt: skip
    assert sorted(provider_region(plan, v) for v in plan.by_type("aws:backup/vault:Vault")) == [
        "us-east-1",
        "us-west-2",
    ]
    # Each region's points are copied into the other region's vault, with that vault's key usable by the role.
    vaults = {provider_region(plan, v): v.inputs["name"] for v in plan.by_type("aws:backup/vault:Vault")}
    for backup_plan in plan.by_type("aws:backup/plan:Plan"):
        other = "us-west-2" if provider_region(plan, backup_plan) == "us-east-1" else "us-east-1"
        destinations = {c["destinationVaultArn"] for r in backup_plan.inputs["rules"] for c in r["copyActions"]}
        assert destinations == {f"arn:aws:backup:{other}:123456789012:backup-vault:{vaults[other]}"}
        role_keys = doc(plan.by_name(backup_plan.name.removesuffix("-plan") + "-role-kms"))["Statement"][0]["Resource"]
        assert any(arn.startswith(f"arn:aws:kms:{other}:123456789012:key/") for arn in role_keys)


# --- the CI roles -------------------------------------------------------------------------------------------------


def roles(plan: Plan) -> dict[str, RecordedResource]:
    return {r.inputs["name"]: r for r in plan.by_type("aws:iam/role:Role") if "name" in r.inputs}


def inline_policy(plan: Plan, role: RecordedResource) -> dict[str, Any]:
    (policy,) = [p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.name + "-id"]
    return doc(policy)


def test_trust_pins_repository_and_environment(plan: Plan) -> None:
    by_name = roles(plan)
    expected = (
        {
            ci_names.deploy_role_name(s): f"repo:example-org/ai-platform:environment:{s}"
            for s in ("dev", "staging", "prod")
        }
        | {
            ci_names.preview_role_name(s): f"repo:example-org/ai-platform:environment:{s}-preview"
            for s in ("dev", "staging", "prod")
        }
        | {ci_names.push_role_name(s): f"repo:example-org/ai-api:environment:{s}" for s in ("dev", "staging", "prod")}
    )
    for name, subject in expected.items():
        role = by_name[name]
        (statement,) = doc(role, "assumeRolePolicy")["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
        assert statement["Condition"] == {
            "StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": [subject],
            }
        }, name
        assert role.inputs["maxSessionDuration"] == 10800  # the deploy workflow asks for 3 h (tests/test_pipeline.py)


def test_prod_deploys_only_from_main_with_approval(plan: Plan) -> None:
    envs = {r.name: r.inputs for r in plan.by_type("github:index/repositoryEnvironment:RepositoryEnvironment")}
    prod = envs["platform-account-github-ai-platform-prod"]
    assert prod["deploymentBranchPolicy"] == {"protectedBranches": False, "customBranchPolicies": True}
    assert prod["reviewers"]
    assert prod["reviewers"][0]["teams"]
    assert prod["waitTimer"] == 10
    assert prod["preventSelfReview"] is True
    assert prod["canAdminsBypass"] is False
    branches = {
        r.inputs["environment"]: r.inputs["branchPattern"]
        for r in plan.by_type(
            "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
        )
        if r.inputs["repository"] == "ai-platform"
    }
    assert branches == {"dev": "main", "staging": "main", "prod": "main"}
    for stack in ("dev", "staging", "prod"):
        assert "deploymentBranchPolicy" not in envs[f"platform-account-github-ai-platform-{stack}-preview"]
        assert "reviewers" not in envs[f"platform-account-github-ai-platform-{stack}"] or stack == "prod"


def access_levels(action: str) -> set[str]:
    levels: set[str] = set()
    for name in expand(action):
        service, _, short = name.partition(":")
        levels |= {entry["access_level"] for entry in get_action_data(service, short)[service]}
    return levels


def test_preview_role_writes_nothing_but_its_lock(plan: Plan) -> None:
    for stack in ("dev", "staging", "prod"):
        policy = inline_policy(plan, roles(plan)[ci_names.preview_role_name(stack)])
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            writes = sorted(a for a in actions if access_levels(a) - {"Read", "List"})
            if statement["Sid"] == "WriteStackState":  # the state lock, which `pulumi preview` takes
                assert statement["Resource"] == [
                    f"arn:aws:s3:::ai-platform-state-123456789012-us-east-1/.pulumi/locks/*ai-platform/{stack}/*"
                ]
            elif statement["Sid"] == "StateKeyThroughS3":  # read state objects, write the lock, through S3 only
                assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
            elif statement["Sid"] == "StackSecrets":  # open the stack's config secrets
                assert writes == ["kms:Decrypt"]
            else:
                assert not writes, (stack, statement["Sid"], writes)


def test_deploy_role_covers_every_service_the_platform_declares(plan_of: Any) -> None:
    modules = {
        "cloudwatch": ("cloudwatch", "logs", "events"), "lb": ("elasticloadbalancing",), "vpc": ("ec2",),
        "costexplorer": ("ce",),
    }  # fmt: skip
    allowed = set(ci_policies.PLATFORM_SERVICES) | set(ci_policies.GLOBAL_SERVICES) | {"iam", "s3"}
    for stack in ("dev", "staging", "prod"):
        for type_ in {r.type for r in plan_of(stack).resources if r.type.startswith("aws:")}:
            module = type_.split(":")[1].split("/")[0]
            assert set(modules.get(module, (module,))) <= allowed, type_
        assert any(r.type == "eks:index:Cluster" for r in plan_of(stack).resources)  # eks, ec2, iam, autoscaling


def test_deploy_role_is_bounded(plan: Plan) -> None:
    policy = inline_policy(plan, roles(plan)[ci_names.deploy_role_name("dev")])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["PlatformServicesInStackRegions"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": ["us-east-1"]}
    }
    iam = sids["StackIamRoles"]["Resource"]
    assert "arn:aws:iam::123456789012:role/dev-*" in iam
    assert all(r != "*" for r in iam)
    guard = sids["DenyOtherStacksResources"]
    assert guard["Condition"]["StringNotEquals"] == {"aws:ResourceTag/stack": "dev"}
    # The backend's keys carry the bootstrap's stack tag, yet the role must use them: the guard leaves them out.
    assert guard["NotResource"] == [sids["StateKeyThroughS3"]["Resource"], sids["StackSecrets"]["Resource"]]
    assert "arn:aws:iam::123456789012:role/ai-platform-prod-deploy" in sids["DenyCiRoleChanges"]["Resource"]
    assert sids["DenyStateBucketChanges"]["Resource"] == [
        "arn:aws:s3:::ai-platform-state-123456789012-us-east-1", "arn:aws:s3:::ai-platform-state-123456789012-us-west-2"
    ]  # fmt: skip
    writes = sids["WriteStackState"]["Resource"]
    assert all("ai-platform/dev" in arn for arn in writes)  # one stack's state, not another's


def test_push_role_pushes_to_its_stack_repository_only(plan: Plan, plan_of: Any) -> None:
    policy = inline_policy(plan, roles(plan)[ci_names.push_role_name("prod")])
    push = next(s for s in policy["Statement"] if s["Sid"] == "PushToStackRepository")
    prod = plan_of("prod")
    repositories = {provider_region(prod, r): r for r in prod.by_type("aws:ecr/repository:Repository")}
    assert set(repositories) == {"us-east-1", "us-west-2"}  # the warm standby's copy, filled by registry replication
    primary = repositories["us-east-1"]
    # The primary's repository only: the standby's copy is never pushed to (its images arrive by replication).
    assert push["Resource"] == f"arn:aws:ecr:us-east-1:123456789012:repository/{primary.inputs['name']}"
    assert all(access_levels(a) <= {"Read", "Write"} for a in push["Action"])
    assert "ecr:PutImage" in push["Action"]
    assert not any("Delete" in a for a in push["Action"])


def test_role_policies_fit_the_iam_inline_quota(plan: Plan) -> None:
    for policy in plan.by_type("aws:iam/rolePolicy:RolePolicy"):
        assert len(json.dumps(doc(policy), separators=(",", ":"))) < IAM_INLINE_POLICY_QUOTA, policy.name


# --- GitHub settings ----------------------------------------------------------------------------------------------


def workflow_job_names() -> list[str]:
    """The pull-request workflow's check names, read straight from its YAML: job name (or id), matrix in ()."""
    workflow = yaml.safe_load((REPOSITORY_ROOT / ".github/workflows/pull-request.yml").read_text())
    names = []
    for job_id, job in workflow["jobs"].items():
        name = job.get("name", job_id)
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        axes = [values for key, values in matrix.items() if key not in ("include", "exclude")]
        if len(axes) == 1 and "${{" not in name:
            names += [f"{name} ({value})" for value in axes[0]]
        elif not axes:
            names.append(name)
        else:
            pytest.skip("a multi-axis matrix: compared by check_names' own tests")
    return names


def test_branch_protection_requires_the_pull_request_jobs(plan: Plan) -> None:
    (protection,) = plan.by_type("github:index/branchProtection:BranchProtection")
    inputs = protection.inputs
    assert inputs["pattern"] == "main"
    assert inputs["enforceAdmins"] is True
    assert inputs["requiredStatusChecks"][0]["contexts"] == workflow_job_names()
    assert inputs["requiredStatusChecks"][0]["strict"] is True
    review = inputs["requiredPullRequestReviews"][0]
    assert review["dismissStaleReviews"] is True
    assert review["requiredApprovingReviewCount"] >= 1
    assert inputs["allowsForcePushes"] is False
    assert inputs["requiredLinearHistory"] is True
    assert inputs["requireConversationResolution"] is True


def test_environment_variables_name_the_roles_and_backend(plan: Plan) -> None:
    variables = {
        (r.inputs["repository"], r.inputs["environment"], r.inputs["variableName"]): r.inputs["value"]
        for r in plan.by_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
    }
    assert (
        variables[("ai-platform", "prod", "AWS_DEPLOY_ROLE_ARN")]
        == "arn:aws:iam::123456789012:role/ai-platform-prod-deploy"
    )
    assert variables[("ai-platform", "prod-preview", "AWS_PREVIEW_ROLE_ARN")].endswith(":role/ai-platform-prod-preview")
    assert variables[("ai-platform", "dev", "PULUMI_BACKEND_URL")] == "s3://ai-platform-state-123456789012-us-east-1"
    assert variables[("ai-api", "prod", "ECR_REPOSITORY")] == "ai-platform/prod/ai-api"
    assert not any(name == "AWS_PREVIEW_ROLE_ARN" for (_, env, name) in variables if not env.endswith("-preview"))
    (runner,) = plan.by_type("github:index/actionsVariable:ActionsVariable")
    assert (runner.inputs["variableName"], runner.inputs["value"]) == ("DEPLOY_RUNNER", "ai-platform-deployer")


def test_check_names_follow_github_naming(tmp_path: Any) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "on: push\njobs:\n"
        "  lint: {runs-on: x, steps: [{run: a}]}\n"
        "  build: {name: Build, runs-on: x, strategy: {matrix: {os: [a, b], py: ['3.11'],"
        " include: [{os: c, py: '3.12'}, {os: a, extra: z}], exclude: [{os: b}]}}, steps: [{run: a}]}\n"
        "  named: {name: 'gate ${{ matrix.stack }}', runs-on: x, strategy: {matrix: {stack: [dev]}},"
        " steps: [{run: a}]}\n"
    )
    assert check_names(workflow) == ["lint", "Build (a, 3.11, z)", "Build (c, 3.12)", "gate dev"]
    workflow.write_text("on: push\njobs:\n  m: {runs-on: x, strategy: {matrix: '${{ fromJSON(x) }}'}, steps: []}\n")
    with pytest.raises(WorkflowError, match="computed matrix"):
        check_names(workflow)


# --- configuration errors -----------------------------------------------------------------------------------------


def problems(raw: dict[str, Any]) -> str:
    with pytest.raises(StackConfigError) as error:
        load_bootstrap_config(STACK, raw)
    return str(error.value)


def test_minimal_config_is_enough() -> None:
    raw = {
        "aws:region": "eu-west-1",
        "ai-platform-bootstrap:tags": {"owner": "me", "cost-center": "cc"},
        "ai-platform-bootstrap:state": {"dr_region": "eu-central-1"},
        "ai-platform-bootstrap:ci": {"stacks": ["dev"]},
        "ai-platform-bootstrap:github": {"owner": "acme", "repository": "ai-platform"},
    }
    bootstrap = load_bootstrap_config("acme-dev", raw)
    assert bootstrap.environment == "dev"
    assert bootstrap.config.ci.session_duration_seconds == 10800
    assert bootstrap.config.github.default_branch == "main"


def test_config_errors_name_the_key_and_what_is_allowed() -> None:
    assert (
        "bootstrap/Pulumi.platform-account.yaml: ai-platform-bootstrap:github.reviewers: no reviewer for the prod "
        "environment" in problems(raw_config(github={"owner": "example-org", "repository": "ai-platform"}))
    )
    assert "github:token: a credential never goes into a stack file" in problems(raw_config(**{"github:token": "x"}))
    assert "ai-platform-bootstrap:state.dr_region: us-east-1 is aws:region; allowed: another region" in problems(
        raw_config(state={"dr_region": "us-east-1"})
    )
    assert "ai-platform-bootstrap:ci.stacks: qa: Pulumi.qa.yaml: no such stack file" in problems(
        raw_config(ci={"stacks": ["qa"]})
    )
    assert "ai-platform-bootstrap:ci.session_duration_seconds: 999999 is out of range; allowed: <= 43200" in problems(
        raw_config(ci={"stacks": ["dev"], "session_duration_seconds": 999999})
    )
    assert "ai-platform-bootstrap:statee: unknown key; allowed:" in problems(raw_config(statee={}))
    assert "ai-platform-bootstrap:state: required key is missing" in problems(raw_config(state=None))


def test_every_workflow_session_fits_in_the_ci_roles_maximum() -> None:
    """AWS refuses an AssumeRoleWithWebIdentity asking for longer than the role's MaxSessionDuration: each
    `role-duration-seconds` of the workflows must fit in what bootstrap gives the roles."""
    longest = CiSettings(stacks=("dev",)).session_duration_seconds
    asked = []
    for path in (REPOSITORY_ROOT / ".github" / "workflows").glob("*.yml"):
        for job in (yaml.safe_load(path.read_text()).get("jobs") or {}).values():
            for step in job.get("steps") or []:
                seconds = (step.get("with") or {}).get("role-duration-seconds")
                if seconds is not None:
                    asked.append((path.name, int(seconds)))
    assert asked, "no workflow assumes a role"
    assert [(name, s) for name, s in asked if s > longest] == []
    assert max(s for _, s in asked) == longest  # the deploy asks for all of it: a first deploy takes over an hour
