"""Every rule, through the SDK object the pack registers: a compliant input passes, a violating one reports the
expected message, and a value unknown during preview passes or fails exactly as the rule declares.

Props are wrapped in `pulumi_policy`'s unknown-checking proxy, as the analyzer does during `pulumi preview`.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from policy.rules import ENVIRONMENTS, RULES, RULES_BY_ID, Rule, enforcement_for, load_pack_config, rule_config
from tests.policy_cases import CASES, TAGS

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


# --- the deploy path: the API endpoint and 443 ------------------------------------------------------------------

BOOTSTRAP_TAG = {"ai-platform/public-endpoint": "bootstrap"}
EKS_CHILD_URN = (
    "urn:pulumi:prod::ai-platform::ai-platform:platform:Platform$ai-platform:cluster:Cluster$eks:index:Cluster"
    "$aws:eks/cluster:Cluster::prod-cluster-eks-eksCluster"
)


def _endpoint_findings(subject: Any) -> dict[str, list[str]]:
    rules = ("eks-endpoint-not-public", "eks-endpoint-bootstrap-open")
    return {rule: run(RULES_BY_ID[rule], subject) for rule in rules}


@pytest.mark.parametrize(
    "view",
    [
        ("eks:index:Cluster", "clusterTags", lambda cidrs: {"endpointPublicAccess": True, "publicAccessCidrs": cidrs}),
        ("eks:index:Cluster", "tags", lambda cidrs: {"endpointPublicAccess": True, "publicAccessCidrs": cidrs}),
        (
            "aws:eks/cluster:Cluster",
            "tags",
            lambda cidrs: {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": cidrs}},
        ),
    ],
    ids=["component-clusterTags", "component-tags", "real-preview-cluster"],
)
def test_a_public_endpoint_passes_only_as_the_tagged_bootstrap_and_then_reminds(view: Any) -> None:
    type_, tag_key, public = view
    subject = (type_, public(["203.0.113.10/32"]), EKS_CHILD_URN)
    assert _endpoint_findings(subject) == {
        "eks-endpoint-not-public": [
            "the API endpoint is permanently public (publicAccessCidrs ['203.0.113.10/32'], no "
            "ai-platform/public-endpoint=bootstrap tag); deployers reach the private endpoint instead"
        ],
        "eks-endpoint-bootstrap-open": [],
    }
    tagged = (type_, {**public(["203.0.113.10/32"]), tag_key: {**TAGS, **BOOTSTRAP_TAG}}, EKS_CHILD_URN)
    assert _endpoint_findings(tagged) == {
        "eks-endpoint-not-public": [],
        "eks-endpoint-bootstrap-open": [
            "the API endpoint is open to 203.0.113.10/32 for the first deployment; close it once the deployers reach "
            "the private endpoint"
        ],
    }
    world = (type_, {**public(["0.0.0.0/0"]), tag_key: BOOTSTRAP_TAG}, EKS_CHILD_URN)
    assert run(RULES_BY_ID["eks-endpoint-not-public"], world) == [
        "the API endpoint is public to the whole internet (publicAccessCidrs ['0.0.0.0/0'])"
    ], "the bootstrap tag never excuses 0.0.0.0/0"


def test_a_stale_bootstrap_tag_on_a_private_endpoint_is_silent() -> None:
    private = ("eks:index:Cluster", {"endpointPublicAccess": False, "clusterTags": BOOTSTRAP_TAG})
    assert _endpoint_findings(private) == {"eks-endpoint-not-public": [], "eks-endpoint-bootstrap-open": []}


def test_bootstrap_reminder_is_advisory_and_the_permanent_endpoint_mandatory_everywhere() -> None:
    for environment in ENVIRONMENTS:
        config = load_pack_config(environment)
        assert enforcement_for(RULES_BY_ID["eks-endpoint-bootstrap-open"], config) == EnforcementLevel.ADVISORY
        assert enforcement_for(RULES_BY_ID["eks-endpoint-not-public"], config) == EnforcementLevel.MANDATORY
        assert enforcement_for(RULES_BY_ID["ec2-sg-no-world-ingress"], config) == EnforcementLevel.MANDATORY


SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
API_RULE = {"type": "ingress", "protocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroupId": "sg-cluster"}
PRIVATE_HINT = (
    ": 443 (the Kubernetes API on the cluster security group) is admitted only from private ranges (10.0.0.0/8, "
    "172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7) or security groups"
)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ((SG_RULE, {**API_RULE, "cidrBlocks": ["10.200.0.0/22", "192.168.40.0/24"]}), []),
        ((SG_RULE, {**API_RULE, "cidrBlocks": ["172.16.0.0/12"]}), []),
        ((SG_RULE, {**API_RULE, "cidrBlocks": ["172.32.0.0/16"]}), ["from 172.32.0.0/16"]),
        ((SG_RULE, {**API_RULE, "ipv6CidrBlocks": ["2001:db8::/32"]}), ["from 2001:db8::/32"]),
        ((SG_RULE, {**API_RULE, "ipv6CidrBlocks": ["fd12:3456::/48"]}), []),
        ((SG_RULE, {**API_RULE, "prefixListIds": ["pl-0123abcd"]}), ["from prefix list pl-0123abcd"]),
        ((SG_RULE, {**API_RULE, "sourceSecurityGroupId": "sg-0123456789abcdef0"}), []),
        (
            (SG_RULE, {**API_RULE, "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["203.0.113.0/28"]}),
            ["on 443 (all ports) from 203.0.113.0/28"],
        ),
        (
            (SG_RULE, {**API_RULE, "fromPort": 8443, "toPort": 8443, "cidrBlocks": ["203.0.113.0/28"]}),
            [],
        ),
        (
            (
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "198.51.100.7/32", "tags": {}},
            ),
            ["from 198.51.100.7/32"],
        ),
        (
            (
                "aws:ec2/securityGroup:SecurityGroup",
                {
                    "tags": {"ai-platform/public-load-balancer": "true"},
                    "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["198.51.100.0/24"]}],
                },
            ),
            [],
        ),
    ],
    ids=[
        "rfc1918", "rfc1918-whole", "outside-172.16/12", "ipv6-global", "ipv6-ula", "prefix-list", "security-group",
        "all-ports", "other-port", "vpc-ingress-rule", "public-load-balancer",
    ],
)  # fmt: skip
def test_443_is_admitted_only_from_private_ranges_or_security_groups(subject: Any, expected: list[str]) -> None:
    messages = run(RULES_BY_ID["ec2-sg-no-world-ingress"], subject)
    assert len(messages) == len(expected), messages
    for message, fragment in zip(messages, expected, strict=True):
        assert fragment in message, message
        assert message.endswith(PRIVATE_HINT), message


def test_malformed_cidr_on_443_fails_closed() -> None:
    assert run(RULES_BY_ID["ec2-sg-no-world-ingress"], (SG_RULE, {**API_RULE, "cidrBlocks": ["10.200.0.0/33"]})) == [
        "malformed input, cannot be evaluated: '10.200.0.0/33' does not appear to be an IPv4 or IPv6 network"
    ]


# --- workload identities ----------------------------------------------------------------------------------------


def _workload(container: dict[str, Any], pod: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Job (the migrations' kind) with one container `job`; `container`/`pod` are the two security contexts."""
    spec = {"securityContext": pod, "containers": [{"name": "job", "image": "x:1", "securityContext": container}]}
    return ("kubernetes:batch/v1:Job", {"spec": {"template": {"spec": spec}}})


@pytest.mark.parametrize(
    ("container", "pod", "expected"),
    [
        ({}, {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001}, []),
        ({"runAsUser": 10001, "runAsGroup": 10001}, {"runAsNonRoot": True, "runAsUser": 0, "runAsGroup": 0}, []),
        (
            {"runAsUser": 1000},
            {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001},
            ["container job runs as uid 1000; at least 10000"],
        ),
        (
            {"runAsNonRoot": False},
            {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001},
            ["container job does not set runAsNonRoot: true"],
        ),
        (
            {},
            {"runAsNonRoot": True, "runAsUser": 10001},
            ["container job sets no runAsGroup (the image's gid applies); at least 10000"],
        ),
        (
            {"runAsUser": 0, "runAsGroup": 0},
            {},
            [
                "container job does not set runAsNonRoot: true",
                "container job runs as uid 0; at least 10000",
                "container job runs as gid 0; at least 10000",
            ],
        ),
    ],
    ids=["pod-only", "container-wins", "low-uid", "container-not-non-root", "no-gid", "root"],
)
def test_effective_identity_is_the_containers_else_the_pods(
    container: dict[str, Any], pod: dict[str, Any], expected: list[str]
) -> None:
    assert run(RULES_BY_ID["k8s-run-as-non-root"], _workload(container, pod)) == expected


def test_identity_threshold_is_a_pack_setting() -> None:
    rule = RULES_BY_ID["k8s-run-as-non-root"]
    subject = _workload({}, {"runAsNonRoot": True, "runAsUser": 2000, "runAsGroup": 2000})
    assert run(rule, subject) == [
        "container job runs as uid 2000; at least 10000",
        "container job runs as gid 2000; at least 10000",
    ]
    assert run(rule, subject, {"minimumUid": 1000, "minimumGid": 2000}) == []
    assert run(rule, subject, {"minimumUid": 1000, "minimumGid": 2001}) == [
        "container job runs as gid 2000; at least 2001"
    ]
    for environment in ENVIRONMENTS:
        assert enforcement_for(rule, load_pack_config(environment)) == EnforcementLevel.MANDATORY
        assert rule.settings(rule_config(rule, load_pack_config(environment))) == {
            "minimumUid": 10000,
            "minimumGid": 10000,
        }


def test_chart_rendered_low_uid_is_advisory_through_chart_hardening() -> None:
    kind, manifest = _workload({}, {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 1000})
    urn = (
        "urn:pulumi:prod::ai-platform::ai-platform:platform:Platform$ai-platform:addons:Addons"
        f"$kubernetes:helm.sh/v4:Chart${kind}::prod-addons-vendor:kube-system/vendor"
    )
    assert run(RULES_BY_ID["k8s-run-as-non-root"], (kind, manifest, urn)) == [], "not the mandatory rule's to judge"
    spec = {"type": kind, "name": "vendor", "props": manifest, "deps": (), "protect": False, "urn": urn}
    findings = run(RULES_BY_ID["k8s-chart-hardening"], [spec])
    assert "[k8s-run-as-non-root] container job runs as gid 1000; at least 10000" in findings
    assert RULES_BY_ID["k8s-chart-hardening"].enforcement == EnforcementLevel.ADVISORY


def _log_shipper(namespace: str, read_only: bool) -> tuple[str, dict[str, Any]]:
    pod = {
        "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}}],
        "containers": [
            {"name": "fluent-bit", "volumeMounts": [{"name": "varlog", "mountPath": "/var/log", "readOnly": read_only}]}
        ],
    }
    props = {"metadata": {"name": "fluent-bit", "namespace": namespace}, "spec": {"template": {"spec": pod}}}
    return ("kubernetes:apps/v1:DaemonSet", props)


def test_only_the_log_shipper_may_read_the_nodes_logs() -> None:
    """hostPath is refused, except /var/log read-only in the log shipper's own namespace (its settings)."""
    rule = RULES_BY_ID["k8s-no-host-path"]
    assert run(rule, _log_shipper("logging", read_only=True)) == []
    assert run(rule, _log_shipper("logging", read_only=False)) == ["volume varlog mounts hostPath /var/log"]
    assert run(rule, _log_shipper("ai-api", read_only=True)) == ["volume varlog mounts hostPath /var/log"]
    assert run(rule, _log_shipper("logging", read_only=True), {"allowedHostPaths": []}) == [
        "volume varlog mounts hostPath /var/log"
    ]


def test_allowed_host_paths_are_the_log_shippers_namespace_and_directories() -> None:
    from components.observability.logs import STATE_DIRECTORY
    from config.namespaces import LOGS_NAMESPACE
    from policy.rules.kubernetes_node import NODE_AGENT_HOST_PATHS

    assert {(e["namespace"], e["path"]) for e in NODE_AGENT_HOST_PATHS if e["namespace"] == LOGS_NAMESPACE} == {
        (LOGS_NAMESPACE, "/var/log"),
        (LOGS_NAMESPACE, STATE_DIRECTORY),
    }


def test_only_node_exporter_shares_the_nodes_network_and_pids() -> None:
    rule = RULES_BY_ID["k8s-no-host-namespaces"]
    pod = {"hostNetwork": True, "hostPID": True, "containers": [{"name": "node-exporter"}]}

    def daemon_set(namespace: str, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        props = {"metadata": {"name": "x", "namespace": namespace}, "spec": {"template": {"spec": spec}}}
        return ("kubernetes:apps/v1:DaemonSet", props)

    assert run(rule, daemon_set("node-exporter", pod)) == []
    assert run(rule, daemon_set("node-exporter", {**pod, "hostIPC": True})) == ["hostIPC is true"]
    assert run(rule, daemon_set("monitoring", pod)) == ["hostNetwork is true", "hostPID is true"]


def test_node_agent_exemptions_name_the_platforms_own_namespaces() -> None:
    from config.namespaces import NODE_EXPORTER_NAMESPACE
    from policy.rules.kubernetes_node import NODE_AGENT_HOST_NAMESPACES

    assert set(NODE_AGENT_HOST_NAMESPACES) == {NODE_EXPORTER_NAMESPACE}
