"""Every rule, through the SDK object the pack registers: a compliant input passes, a violating one reports the
expected message, and a value unknown during preview passes or fails exactly as the rule declares.

Props are wrapped in `pulumi_policy`'s unknown-checking proxy, as the analyzer does during `pulumi preview`.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from policy.rules import RULES, RULES_BY_ID, Rule
from tests.policy_cases import CASES

URN = "urn:pulumi:prod::ai-platform::{type}::{name}"


def _options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _stack(specs: list[dict[str, Any]]) -> list[PolicyResource]:
    by_name: dict[str, PolicyResource] = {}
    for spec in specs:
        urn = spec.get("urn") or URN.format(type=spec["type"], name=spec["name"])
        by_name[spec["name"]] = PolicyResource(
            spec["type"],
            unknown_checking_proxy(spec["props"]),
            urn,
            spec["name"],
            _options(spec["protect"]),
            None,
            None,
            [],
            {},
        )
    for spec in specs:
        by_name[spec["name"]].dependencies = [by_name[d] for d in spec["deps"]]
    return list(by_name.values())


def run(rule: Rule, subject: Any, config: dict[str, Any] | None = None) -> list[str]:
    """The messages `rule`'s CrossGuard policy reports for `subject`: a `(type, props)` (declared by the program),
    a `(type, props, urn)` (the URN says who created it: the program, pulumi-eks or a chart), or a list of specs."""
    policy = rule.policy()
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    if isinstance(policy, ResourceValidationPolicy):
        type_, props, *given = subject
        args = ResourceValidationArgs(
            type_,
            unknown_checking_proxy(props),
            given[0] if given else URN.format(type=type_, name="subject"),
            "subject",
            _options(),
            None,
            config,
            {},
        )
        policy.validate(args, report)
    else:
        policy.validate(StackValidationArgs(_stack(subject), config, {}), report)
    return reported


def test_every_rule_has_a_case() -> None:
    assert sorted(CASES) == sorted(RULES_BY_ID), "add a compliant/violating/unknown case for each new rule"


@pytest.mark.parametrize("rule_id", sorted(RULES_BY_ID))
def test_compliant_input_passes(rule_id: str) -> None:
    case = CASES[rule_id]
    for good in (case.good, *case.extra_good):
        assert run(RULES_BY_ID[rule_id], good) == []


@pytest.mark.parametrize("rule_id", sorted(RULES_BY_ID))
def test_violating_input_is_reported_with_its_message(rule_id: str) -> None:
    messages = run(RULES_BY_ID[rule_id], CASES[rule_id].bad)
    assert messages, f"{rule_id} let its violating input through"
    assert any(CASES[rule_id].message in m for m in messages), messages


@pytest.mark.parametrize("rule_id", sorted(RULES_BY_ID))
def test_unknown_value_counts_as_the_rule_declares(rule_id: str) -> None:
    rule = RULES_BY_ID[rule_id]
    messages = run(rule, CASES[rule_id].unknown)  # never raises UnknownValueError
    if rule.on_unknown == "pass":
        assert messages == []
    else:
        assert messages, f"{rule_id} declares unknown=fail but passed an unknown value"


def test_unknown_failure_names_the_unknown_property() -> None:
    messages = run(RULES_BY_ID["rds-not-public"], CASES["rds-not-public"].unknown)
    assert messages == [
        "cannot be verified: boolean value at .publiclyAccessible can't be known during preview "
        "(unknown counts as a violation for this rule)"
    ]


# --- behaviour beyond the table ---------------------------------------------------------------------------------


def test_eks_rules_cover_the_aws_cluster_view_of_a_real_preview() -> None:
    public = (
        "aws:eks/cluster:Cluster",
        {
            "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]},
            "encryptionConfig": {"resources": ["secrets"]},
        },
    )
    assert run(RULES_BY_ID["eks-endpoint-not-public"], public) == [
        "the API endpoint is public to the whole internet (publicAccessCidrs ['0.0.0.0/0'])"
    ]
    assert run(RULES_BY_ID["eks-secrets-encryption"], public) == [
        "encryptionConfig does not encrypt 'secrets' with a KMS key"
    ]


def test_log_delivery_bucket_must_use_sse_s3() -> None:
    specs = [
        {
            "type": "aws:s3/bucket:Bucket",
            "name": "logs",
            "props": {"tags": {"ai-platform/log-delivery": "true"}},
            "deps": (),
            "protect": True,
        },
        {
            "type": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "name": "sse",
            "props": CASES["s3-encryption-kms"].good[1]["props"],
            "deps": ("logs",),
            "protect": False,
        },
    ]
    assert run(RULES_BY_ID["s3-encryption-kms"], specs) == [
        "log-delivery bucket logs uses aws:kms; log delivery only writes to AES256 buckets"
    ]


def test_public_load_balancer_group_may_open_only_web_ports() -> None:
    rule = RULES_BY_ID["ec2-sg-no-world-ingress"]
    tags = {"ai-platform/public-load-balancer": "true"}
    ssh = {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}
    assert run(rule, ("aws:ec2/securityGroup:SecurityGroup", {"tags": tags, "ingress": [ssh]})) == [
        "ingress from 0.0.0.0/0 on ports 22-22/tcp"
    ]
    standalone = (
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"cidrIpv6": "::/0", "ipProtocol": "-1", "tags": {}},
    )
    assert run(rule, standalone) == [
        (
            "ingress from ::/0 on all ports (only a public load balancer's security group may accept 80/443 from the "
            "internet)"
        )
    ]


def test_backup_selection_by_tag_covers_tagged_resources() -> None:
    specs = [
        {
            "type": "aws:rds/cluster:Cluster",
            "name": "db",
            "props": {"tags": {"backup": "daily"}},
            "deps": (),
            "protect": True,
        },
        {
            "type": "aws:backup/selection:Selection",
            "name": "sel",
            "deps": (),
            "protect": False,
            "props": {"selectionTags": [{"type": "STRINGEQUALS", "key": "backup", "value": "daily"}]},
        },
    ]
    assert run(RULES_BY_ID["backup-stateful-covered"], specs) == []


def test_autoscaled_workload_needs_a_pdb() -> None:
    """replicas: 1 in the manifest, but the HPA keeps at least 3: the workload is replicated."""
    manifest = CASES["k8s-pdb-for-replicated"].bad[0]["props"]
    single = {**manifest, "spec": {**manifest["spec"], "replicas": 1}}
    hpa = {
        "metadata": {"name": "api", "namespace": "ai"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "minReplicas": 3},
    }
    specs = [
        {"type": "kubernetes:apps/v1:Deployment", "name": "api", "props": single, "deps": (), "protect": False},
        {
            "type": "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
            "name": "hpa",
            "props": hpa,
            "deps": (),
            "protect": False,
        },
    ]
    assert run(RULES_BY_ID["k8s-pdb-for-replicated"], specs) == [
        "Deployment api runs 3 replicas with no PodDisruptionBudget"
    ]


def test_settings_come_from_pack_config() -> None:
    retention = RULES_BY_ID["rds-backup-retention"]
    assert run(retention, ("aws:rds/cluster:Cluster", {"backupRetentionPeriod": 7}), {"minimumDays": 14}) == [
        "backupRetentionPeriod is 7; at least 14 days"
    ]
    assert run(retention, ("aws:rds/cluster:Cluster", {"backupRetentionPeriod": 7}), {"minimumDays": 1}) == []


def test_malformed_values_fail_closed_instead_of_crashing() -> None:
    messages = run(RULES_BY_ID["logs-retention"], ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": "a year"}))
    assert messages == ["malformed input, cannot be evaluated: invalid literal for int() with base 10: 'a year'"]
    manifest = CASES["k8s-pdb-for-replicated"].bad[0]["props"]
    stack = [
        {
            "type": "kubernetes:apps/v1:Deployment",
            "name": "api",
            "props": {**manifest, "spec": {**manifest["spec"], "replicas": "two"}},
            "deps": (),
            "protect": False,
        }
    ]
    assert run(RULES_BY_ID["k8s-pdb-for-replicated"], stack) == [
        "malformed input, cannot be evaluated: invalid literal for int() with base 10: 'two'"
    ]


def test_rules_ignore_other_resource_types() -> None:
    assert run(RULES_BY_ID["kms-key-rotation"], ("aws:s3/bucket:Bucket", {"enableKeyRotation": False})) == []


def test_at_least_45_rules_with_complete_metadata() -> None:
    assert len(RULES) >= 45
    for rule in RULES:
        policy = rule.policy()
        metadata = {
            "name": policy.name == rule.id,
            "description": bool(policy.description),
            "remediation_steps": bool(policy.remediation_steps),
            "severity": policy.severity is not None,
            "enforcement_level": policy.enforcement_level is not None,
            "controls": policy.framework is not None and policy.framework.reference == ", ".join(rule.controls),
            "on_unknown": rule.on_unknown in ("pass", "fail"),
            "types": bool(rule.types) or rule.kind == "stack",
        }
        assert [k for k, ok in metadata.items() if not ok] == [], rule.id
