"""Plans of the security automation: the IP-blocking Lambda, its rules, queue, table and permissions in every stack;
the application secrets, their rotation schedule and the pods' ExternalSecrets and mounts (minimal and complete
configurations)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.ai_api.secrets import REFRESH_INTERVAL, SECRETS_DIR
from components.remediation import finding_pattern
from lambdas.ip_blocking import handler
from ops.engine import Plan
from ops.gate import evaluate
from tests.conftest import primary_site
from tests.manifests import kubernetes_objects, manifest, validate_object
from tests.test_ip_blocking import FINDING

SECRETS = {
    "ai-platform:api": {
        "secrets": [
            {"name": "inference-key", "length": 64, "description": "key clients present to the ai-api"},
            {"name": "openai", "source": "provider"},
        ]
    }
}


def one(plan: Plan, type_: str, suffix: str) -> Any:
    [resource] = [r for r in plan.by_type(type_) if r.name.endswith(suffix)]
    return resource


def policy(resource: Any) -> dict[str, Any]:
    return json.loads(resource.inputs["policy"])


def test_every_stack_blocks_findings_through_a_guarded_lambda(plan_of: Any, any_stack: str) -> None:
    plan = plan_of(any_stack)
    function = one(plan, "aws:lambda/function:Function", "ip-blocking-function").inputs
    assert function["runtime"] == "python3.12"
    assert function["handler"] == "ip_blocking.handler.handle"
    assert function["tracingConfig"] == {"mode": "Active"}
    assert function["reservedConcurrentExecutions"] == 2
    assert function["deadLetterConfig"]["targetArn"].endswith(":ai-platform-" + any_stack + "-ip-blocking-dlq")
    env = function["environment"]["variables"]
    assert env["IP_SET_NAME"] == f"ai-platform-{any_stack}-ai-api-blocklist"
    assert env["TABLE_NAME"] == f"ai-platform-{any_stack}-ip-blocks"
    assert not any(word in key for key in env for word in ("SECRET", "TOKEN", "PASSWORD"))

    rule = one(plan, "aws:cloudwatch/eventRule:EventRule", "ip-blocking-findings").inputs
    assert json.loads(rule["eventPattern"]) == finding_pattern(7.0)
    schedule = one(plan, "aws:cloudwatch/eventRule:EventRule", "ip-blocking-expiry").inputs
    assert schedule["scheduleExpression"] == "rate(15 minutes)"
    for role in ("findings", "expiry"):
        target = one(plan, "aws:cloudwatch/eventTarget:EventTarget", f"ip-blocking-{role}-target").inputs
        assert target["retryPolicy"] == {"maximumRetryAttempts": 8, "maximumEventAgeInSeconds": 21600}
        assert target["deadLetterConfig"]["arn"].endswith("-ip-blocking-dlq")
        permission = one(plan, "aws:lambda/permission:Permission", f"ip-blocking-{role}-invoke").inputs
        assert permission["principal"] == "events.amazonaws.com"
        assert permission["sourceArn"].endswith(f":rule/ai-platform-{any_stack}-ip-blocking-{role}")

    statements = {
        s["Sid"]: s
        for s in policy(one(plan, "aws:iam/rolePolicy:RolePolicy", "ip-blocking-function-policy"))["Statement"]
    }
    ip_set = f"regional/ipset/ai-platform-{any_stack}-ai-api-blocklist/{any_stack}-ai-api-blocklist-id"
    assert statements["MaintainBlocklist"]["Resource"].endswith(ip_set)
    assert statements["RecordBlocks"]["Resource"].endswith(f":table/ai-platform-{any_stack}-ip-blocks")
    queue_policy = policy(one(plan, "aws:sqs/queuePolicy:QueuePolicy", "ip-blocking-function-dlq-policy"))
    [events] = [s for s in queue_policy["Statement"] if s["Sid"] == "EventBridgeDeadLettersItsRules"]
    assert len(events["Condition"]["ArnEquals"]["aws:SourceArn"]) == 2


def test_the_table_is_encrypted_recoverable_and_protected_outside_dev(plan_of: Any, any_stack: str) -> None:
    resource = one(plan_of(any_stack), "aws:dynamodb/table:Table", "ip-blocking-table")
    table = resource.inputs
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"]["enabled"] is True
    assert table["serverSideEncryption"]["kmsKeyArn"].endswith("identity-security-key-key-id")
    assert table["ttl"] == {"attributeName": "purge_at", "enabled": True}
    protected = any_stack != "dev"
    assert table["deletionProtectionEnabled"] is protected
    assert resource.protect is protected


def test_the_blocklist_is_never_reset_by_a_deployment(plan_of: Any) -> None:
    # Each site's WAF has its own blocklist (the warm standby's too): no deployment resets either.
    ip_sets = {r.name: r for r in plan_of("prod").by_type("aws:wafv2/ipSet:IpSet")}
    assert set(ip_sets) == {"prod-ai-api-blocklist", "prod-dr-ai-api-blocklist"}
    assert all("addresses" in ip_set.ignoreChanges for ip_set in ip_sets.values())


def test_the_rule_matches_what_the_lambda_acts_on() -> None:
    """Every action type the pattern admits is one the handler reads an address from, and the sample finding's
    detail has the shape the pattern's first alternative requires."""
    pattern = finding_pattern(7.0)
    admitted = {next(iter(alt["service"]["action"])) for alt in pattern["detail"]["$or"]}
    assert admitted == set(handler.blocklist.REMOTE_IP_PATHS)
    action = FINDING["detail"]["service"]["action"]["networkConnectionAction"]
    assert action["remoteIpDetails"]["ipAddressV4"]
    assert pattern["detail"]["severity"] == [{"numeric": [">=", 7.0]}]


def test_disabled_blocking_declares_nothing(plan_of: Any) -> None:
    plan = plan_of("staging", {"ai-platform:security": {"ip_blocking": {"enabled": False}}})
    assert not plan.by_type("ai-platform:security:IpBlocking")
    assert plan.outputs["ip_blocking_function_name"] is None


def test_without_secrets_no_rotation_and_no_mount(plan_of: Any) -> None:
    plan = plan_of("prod")
    assert not plan.by_type("ai-platform:security:ApplicationSecrets")
    external = plan.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    assert not [r for r in external if "-ai-api-secret-" in r.name]
    workloads = plan.by_type("kubernetes:argoproj.io/v1alpha1:Rollout")
    assert sorted(w.name for w in workloads) == ["prod-ai-api-rollout", "prod-dr-ai-api-rollout"]
    for workload in workloads:  # neither site mounts anything
        volumes = workload.inputs["spec"]["template"]["spec"]["volumes"]
        assert [v["name"] for v in volumes] == ["tmp"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_application_secrets_rotate_and_reach_the_pods_as_files(plan_of: Any, stack: str) -> None:
    plan = primary_site(plan_of(stack, SECRETS))  # the warm standby's side: the test after this one
    generated = one(plan, "aws:secretsmanager/secret:Secret", "app-secrets-inference-key").inputs
    assert generated["name"] == f"ai-platform/{stack}/ai-api/inference-key"
    assert generated["kmsKeyId"].endswith("identity-security-key-key-id")
    assert generated["tags"]["ai-platform/key-length"] == "64"
    provider = one(plan, "aws:secretsmanager/secret:Secret", "app-secrets-openai").inputs
    assert provider["tags"]["ai-platform/rotation"] == "external"

    [rotation] = [
        r for r in plan.by_type("aws:secretsmanager/secretRotation:SecretRotation") if "app-secrets" in r.name
    ]
    assert rotation.inputs["rotationRules"]["automaticallyAfterDays"] == 30
    assert rotation.inputs["rotationLambdaArn"].endswith(f":function:ai-platform-{stack}-secret-rotation")
    permission = one(plan, "aws:lambda/permission:Permission", "app-secrets-inference-key-invoke").inputs
    assert permission["principal"] == "secretsmanager.amazonaws.com"
    assert permission["sourceArn"].startswith(
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:ai-platform/{stack}/"
    )
    function = one(plan, "aws:lambda/function:Function", "app-secrets-rotation").inputs
    assert function["handler"] == "secret_rotation.rotation.handle"
    grants = policy(one(plan, "aws:iam/rolePolicy:RolePolicy", "app-secrets-rotation-policy"))["Statement"]
    [rotate] = [s for s in grants if s["Sid"] == "RotateGeneratedSecrets"]
    assert rotate["Resource"] == [permission["sourceArn"]]  # not the provider's key

    external = {
        r.inputs["metadata"]["name"]: r for r in plan.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    }
    spec = external["ai-api-inference-key"].inputs["spec"]
    assert spec["refreshInterval"] == REFRESH_INTERVAL
    assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
    assert [d["secretKey"] for d in spec["data"]] == ["api_key", "previous_api_key"]
    assert [d["secretKey"] for d in external["ai-api-openai"].inputs["spec"]["data"]] == ["api_key"]

    [workload] = plan.by_type("kubernetes:apps/v1:Deployment") + plan.by_type("kubernetes:argoproj.io/v1alpha1:Rollout")
    pod = workload.inputs["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "app-secrets"]
    paths = [item["path"] for source in volume["projected"]["sources"] for item in source["secret"]["items"]]
    assert paths == ["inference-key/api_key", "inference-key/previous_api_key", "openai/api_key"]
    [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "app-secrets"]
    assert mount == {"name": "app-secrets", "mountPath": SECRETS_DIR, "readOnly": True}
    assert "subPath" not in mount  # a subPath mount never sees an update
    external_urns = {r.urn for r in external.values()}
    assert external_urns & set(workload.dependencies)  # the pods start only once their Secrets exist


def test_the_standby_reads_replicas_of_the_primarys_secrets_in_its_region(plan_of: Any) -> None:
    """Prod's warm standby: each application secret is replicated into the DR region with the DR region's key, and
    the standby's ExternalSecrets read the replica by the same name through its cluster's store in that region;
    rotation runs once, at the primary (Secrets Manager carries each new version to the replica)."""
    plan = plan_of("prod", SECRETS)
    dr_key = "arn:aws:kms:us-west-2:123456789012:key/prod-dr-identity-security-key-key-id"
    for secret in ("inference-key", "openai"):
        assert one(plan, "aws:secretsmanager/secret:Secret", f"app-secrets-{secret}").inputs["replicas"] == [
            {"kmsKeyId": dr_key, "region": "us-west-2"}
        ]
    assert not [r for r in plan.by_type("aws:secretsmanager/secret:Secret") if r.name.startswith("prod-dr-app-secrets")]
    assert [r.name for r in plan.by_type("aws:secretsmanager/secretRotation:SecretRotation")] == [
        "prod-app-secrets-inference-key-rotation"
    ]
    by_site = {
        site: {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.by_type(
            "kubernetes:external-secrets.io/v1:ExternalSecret") if r.name.startswith(f"{prefix}-ai-api-secret-")}
        for site, prefix in (("primary", "prod"), ("standby", "prod-dr"))
    }  # fmt: skip
    assert set(by_site["standby"]) == set(by_site["primary"]) == {"ai-api-inference-key", "ai-api-openai"}
    assert by_site["standby"] == by_site["primary"]  # same store name and secret names: the region is the store's
    store = plan.by_name("prod-dr-addons-cluster-secret-store").inputs["spec"]["provider"]["aws"]
    assert store["region"] == "us-west-2"
    read = policy(plan.by_name("prod-dr-addons-external-secrets-policy"))["Statement"]
    assert read[0]["Resource"] == "arn:aws:secretsmanager:us-west-2:123456789012:secret:ai-platform/prod/*"
    [pod] = [w.inputs["spec"]["template"]["spec"] for w in plan.by_type("kubernetes:argoproj.io/v1alpha1:Rollout")
             if w.name == "prod-dr-ai-api-rollout"]  # fmt: skip
    assert [m["mountPath"] for m in pod["containers"][0]["volumeMounts"] if m["name"] == "app-secrets"] == [SECRETS_DIR]


def test_kubernetes_objects_with_secrets_validate(plan_of: Any) -> None:
    """The ExternalSecrets against the external-secrets CRD schema, the pods with the projected volume against the
    Kubernetes API schema (strict)."""
    plan = plan_of("prod", SECRETS)
    version = plan.by_type("eks:index:Cluster")[0].inputs["version"]
    checked = 0
    for resource in kubernetes_objects(plan):
        if resource.name.startswith("prod-ai-api"):
            validate_object(manifest(resource), version)
            checked += 1
    assert checked > 10


def test_the_gate_passes_with_secrets(plan_of: Any) -> None:
    plan = plan_of("prod", SECRETS)
    result = evaluate(plan, "prod")
    assert not result.mandatory, result.mandatory


def test_the_blocks_table_joins_the_backup_plan(plan_of: Any) -> None:
    plan = plan_of("prod")
    selection = plan.by_name("prod-ip-blocking-backup").inputs
    assert selection["resources"] == ["arn:aws:dynamodb:us-east-1:123456789012:table/ai-platform-prod-ip-blocks"]
    assert selection["iamRoleArn"] == plan.by_name("prod-backup-selection").inputs["iamRoleArn"]
