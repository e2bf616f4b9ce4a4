"""Logging and messaging rules: CloudWatch log groups, SQS queues, SNS topics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .core import MEDIUM, Param, is_set, resource_rule, truthy

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SQS_QUEUE = "aws:sqs/queue:Queue"
SNS_TOPIC = "aws:sns/topic:Topic"


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
    description="SNS topics are encrypted with a KMS key.",
    severity=MEDIUM,
    remediation="Set kms_master_key_id (a customer key whose policy lets the publishing services use it).",
    controls=("FSBP SNS.1", "CKV_AWS_26"),
    on_unknown="pass",
)
def sns_encrypted(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not is_set(props, "kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set: messages are stored unencrypted"
