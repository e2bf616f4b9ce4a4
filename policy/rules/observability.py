"""Logging, messaging and alerting rules: CloudWatch log groups, SQS queues, SNS topics (customer key, TLS only),
and CloudWatch alarms that notify one of the stack's topics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import (
    HIGH,
    MEDIUM,
    Param,
    StackIndex,
    as_strings,
    is_set,
    mapping,
    principals,
    resource_rule,
    stack_rule,
    statements,
    tls_only_findings,
    truthy,
)

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SQS_QUEUE = "aws:sqs/queue:Queue"
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@resource_rule(
    id="logs-retention",
    area="observability",
    types=(LOG_GROUP,),
    description="Log groups set a retention of at least the environment's minimum (never unset: explicit and bounded).",
    severity=MEDIUM,
    remediation="Set retention_in_days to a CloudWatch value >= the minimum (pack config minimumDays).",
    controls=("FSBP CloudWatch.16", "CKV_AWS_338", "CKV_AWS_66"),
    on_unknown="fail",
    params={"minimumDays": Param(365, {"type": "integer", "minimum": 1}, "Minimum log retention in days.")},
)
def logs_retention(_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    days = props.get("retentionInDays")
    if days is None or int(days) == 0:
        yield "retentionInDays is not set: logs are kept forever at unbounded cost, with no stated policy"
    elif int(days) < int(config["minimumDays"]):
        yield f"retentionInDays is {days}; at least {config['minimumDays']}"


@resource_rule(
    id="logs-kms-encryption",
    area="observability",
    types=(LOG_GROUP,),
    description="Log groups are encrypted with the platform's logs KMS key.",
    severity=MEDIUM,
    remediation="Set kms_key_id to the logs key ARN (its key policy lets logs.<region> use it for this account).",
    controls=("CKV_AWS_158",),
    on_unknown="pass",
)
def logs_kms_encryption(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not is_set(props, "kmsKeyId"):
        yield "kmsKeyId is not set: logs are encrypted only with a CloudWatch-owned key"


@resource_rule(
    id="sqs-encrypted",
    area="observability",
    types=(SQS_QUEUE,),
    description="SQS queues are encrypted at rest (KMS key, or SQS-managed SSE at the least).",
    severity=MEDIUM,
    remediation="Set kms_master_key_id (preferred) or sqs_managed_sse_enabled=True.",
    controls=("FSBP SQS.1", "CKV_AWS_27"),
    on_unknown="pass",
)
def sqs_encrypted(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not is_set(props, "kmsMasterKeyId") and not truthy(props.get("sqsManagedSseEnabled")):
        yield "the queue is not encrypted at rest"


@resource_rule(
    id="sns-encrypted",
    area="observability",
    types=(SNS_TOPIC,),
    description="SNS topics are encrypted with a customer-managed KMS key (not the AWS managed alias/aws/sns).",
    severity=MEDIUM,
    remediation=(
        "Set kms_master_key_id to a customer key whose policy lets the publishing services use it (the platform's "
        "alerts or backup key): the AWS managed key's policy admits neither CloudWatch nor EventBridge."
    ),
    controls=("FSBP SNS.1", "CKV_AWS_26"),
    on_unknown="pass",
)
def sns_encrypted(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not is_set(props, "kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set: messages are stored unencrypted"
        return
    key = str(props.get("kmsMasterKeyId"))
    if key.startswith("alias/aws/") or ":alias/aws/" in key:
        yield f"kmsMasterKeyId is the AWS managed key {key}: its policy cannot be changed to admit the publishers"


def _denies_insecure_publish(doc: Mapping[str, Any]) -> bool:
    """A Deny for everyone of sns:Publish (or all actions) when aws:SecureTransport is false."""
    for statement in statements(doc):
        if statement.get("Effect") != "Deny" or "*" not in principals(statement):
            continue
        if not {"sns:publish", "sns:*", "*"} & {action.lower() for action in as_strings(statement.get("Action"))}:
            continue
        block = mapping(mapping(statement.get("Condition")).get("Bool"))
        if str(block.get("aws:SecureTransport")).lower() == "false":
            return True
    return False


@stack_rule(
    id="sns-tls-only",
    area="observability",
    types=(SNS_TOPIC,),
    description="Every SNS topic's policy denies publishing over plain HTTP (aws:SecureTransport false).",
    severity=MEDIUM,
    remediation=(
        "Declare aws.sns.TopicPolicy with lib.iam.deny_insecure_transport('SNS:Publish', topic_arn): a Deny for "
        "Principal * when Bool aws:SecureTransport is false."
    ),
    controls=(),
    on_unknown="pass",
)
def sns_tls_only(topic: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert topic is not None
    yield from tls_only_findings(topic, index, SNS_TOPIC_POLICY, "topic", "publishing", _denies_insecure_publish)


@stack_rule(
    id="alarm-notifies-platform-topic",
    area="observability",
    types=(METRIC_ALARM,),
    description="Every CloudWatch alarm has an alarm action publishing to one of the stack's SNS topics.",
    severity=HIGH,
    remediation=(
        "Set alarm_actions (and ok_actions) to the ARN of the topic of the alarm's severity "
        "(components.observability.alarms): an alarm without an action changes state and tells nobody."
    ),
    controls=("FSBP CloudWatch.15",),
    on_unknown="pass",
)
def alarm_notifies_platform_topic(
    alarm: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]
) -> Iterable[str]:
    assert alarm is not None
    topics = index.by_type(SNS_TOPIC)
    if any(alarm.urn in [r.urn for r in index.dependents(topic, METRIC_ALARM)] for topic in topics):
        return  # alarm_actions refer to a topic of this stack (an output, unknown during a real preview)
    actions = as_strings(alarm.props.get("alarmActions"))
    if not actions:
        yield f"alarm {alarm.name} has no alarm action: it notifies nobody"
        return
    arns = {str(topic.props.get("arn")) for topic in topics}
    if not arns & set(actions):
        yield f"alarm {alarm.name} notifies no SNS topic of this stack ({', '.join(actions)})"


PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SEVERITIES = ("critical", "warning", "info")
# Namespaces whose UIs and APIs (Prometheus, Alertmanager, Grafana) must never face the internet.
MONITORING_NAMESPACES = ("monitoring",)


@resource_rule(
    id="alert-rules-complete",
    area="observability",
    types=(PROMETHEUS_RULE,),
    description=(
        "Every alert of a PrometheusRule has a severity (critical, warning or info) that the routing knows, a summary, "
        "a description and a runbook_url: an alert nobody can route or act on is noise."
    ),
    severity=MEDIUM,
    remediation=(
        "Declare alerts in components/observability/rules.py: labels.severity and annotations summary, description "
        "and runbook_url (a heading of docs/runbooks/alerts.md)."
    ),
    controls=(),
    on_unknown="pass",
)
def alert_rules_complete(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    for group in mapping(props.get("spec")).get("groups") or []:
        for rule in mapping(group).get("rules") or []:
            rule = mapping(rule)
            if "alert" not in rule:
                continue  # a recording rule
            name = rule["alert"]
            severity = mapping(rule.get("labels")).get("severity")
            if severity not in SEVERITIES:
                yield f"alert {name} has severity {severity!r}; allowed: {', '.join(SEVERITIES)}"
            annotations = mapping(rule.get("annotations"))
            missing = [key for key in ("summary", "description", "runbook_url") if not annotations.get(key)]
            if missing:
                yield f"alert {name} has no {', '.join(missing)}"


@resource_rule(
    id="monitoring-not-public",
    area="observability",
    types=(SERVICE, INGRESS),
    description=(
        "Prometheus, Alertmanager and Grafana are never exposed to the internet: no LoadBalancer or NodePort Service "
        "and no internet-facing Ingress in the monitoring namespace (port-forward, or an internal ALB)."
    ),
    severity=HIGH,
    remediation=(
        "Keep the monitoring Services ClusterIP; reach them with kubectl port-forward, or an Ingress with "
        "alb.ingress.kubernetes.io/scheme: internal behind the VPN."
    ),
    controls=("CKV_K8S_21",),
    on_unknown="fail",
)
def monitoring_not_public(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    metadata = mapping(props.get("metadata"))
    if metadata.get("namespace") not in MONITORING_NAMESPACES:
        return
    if resource_type == SERVICE:
        kind = mapping(props.get("spec")).get("type", "ClusterIP")
        if kind in ("LoadBalancer", "NodePort"):
            yield f"Service {metadata.get('name')} is of type {kind}"
    elif mapping(metadata.get("annotations")).get("alb.ingress.kubernetes.io/scheme") != "internal":
        yield f"Ingress {metadata.get('name')} is not internal (alb.ingress.kubernetes.io/scheme: internal)"
