"""Serverless rules: Lambda functions (not public, failures kept, traced, bounded concurrency), EventBridge targets of
functions (retries and a dead-letter queue) and DynamoDB tables (customer key, point-in-time recovery, deletion
protection)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .core import HIGH, MEDIUM, dig, is_set, resource_rule, truthy

LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"


@resource_rule(
    id="lambda-not-public",
    area="serverless",
    types=(LAMBDA_PERMISSION,),
    description="A Lambda function's resource policy admits no one at large: no `*` principal, and an AWS service "
    "only for this account's source (source_arn or source_account), never any caller of that service.",
    severity=HIGH,
    remediation="Grant the invoking service principal (events.amazonaws.com, secretsmanager.amazonaws.com) with "
    "source_arn (the rule, the secret) or source_account set; never principal '*'.",
    controls=("FSBP Lambda.1", "CKV_AWS_301"),
    on_unknown="fail",
)
def lambda_not_public(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    principal = str(props.get("principal") or "")
    scoped = is_set(props, "sourceArn") or is_set(props, "sourceAccount")
    if principal == "*":
        yield "principal is '*': anyone may invoke the function"
    elif principal.endswith(".amazonaws.com") and not scoped:
        yield f"{principal} may invoke the function on behalf of any account (no source_arn or source_account)"


@resource_rule(
    id="lambda-dead-letter",
    area="serverless",
    types=(LAMBDA_FUNCTION,),
    description="Lambda functions keep failed asynchronous invocations (a dead-letter queue) instead of dropping them.",
    severity=MEDIUM,
    remediation="Set dead_letter_config={'target_arn': <SQS queue ARN>} (encrypted queue; the role may send to it).",
    controls=("CKV_AWS_116",),
    on_unknown="pass",
)
def lambda_dead_letter(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not is_set(props, "deadLetterConfig", "targetArn"):
        yield "deadLetterConfig.targetArn is not set: a failed asynchronous invocation is lost after its retries"


@resource_rule(
    id="lambda-tracing",
    area="serverless",
    types=(LAMBDA_FUNCTION,),
    description="Lambda functions are traced with X-Ray (Active tracing).",
    severity=MEDIUM,
    remediation="Set tracing_config={'mode': 'Active'} and allow xray:PutTraceSegments/PutTelemetryRecords.",
    controls=("CKV_AWS_50",),
    on_unknown="pass",
)
def lambda_tracing(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    mode = dig(props, "tracingConfig", "mode")
    if mode != "Active":
        yield f"tracingConfig.mode is {mode or 'unset'}; allowed: Active"


@resource_rule(
    id="lambda-reserved-concurrency",
    area="serverless",
    types=(LAMBDA_FUNCTION,),
    description="Lambda functions reserve a bounded concurrency: a burst can neither starve the account's other "
    "functions nor run unbounded.",
    severity=MEDIUM,
    remediation="Set reserved_concurrent_executions to a small positive number (what the function needs at peak).",
    controls=("CKV_AWS_115",),
    on_unknown="pass",
)
def lambda_reserved_concurrency(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    value = props.get("reservedConcurrentExecutions")
    if value is None or int(value) < 1:
        yield f"reservedConcurrentExecutions is {value if value is not None else 'unset'}; allowed: 1 or more"


@resource_rule(
    id="events-lambda-target-retry-dlq",
    area="serverless",
    types=(EVENT_TARGET,),
    description="EventBridge targets that invoke a Lambda function retry within a bounded policy and dead-letter what "
    "they cannot deliver.",
    severity=MEDIUM,
    remediation="Set retry_policy (maximum_retry_attempts, maximum_event_age_in_seconds) and dead_letter_config "
    "{'arn': <SQS queue ARN>} whose policy admits events.amazonaws.com from this rule.",
    controls=("AWS EventBridge best practices: DLQ",),
    on_unknown="pass",
)
def events_lambda_target(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    arn = props.get("arn")
    if not isinstance(arn, str) or ":lambda:" not in arn:
        return
    if not is_set(props, "deadLetterConfig", "arn"):
        yield "deadLetterConfig.arn is not set: an event that cannot be delivered to the function is dropped"
    if not is_set(props, "retryPolicy", "maximumRetryAttempts") or not is_set(
        props, "retryPolicy", "maximumEventAgeInSeconds"
    ):
        yield "retryPolicy is not fully set: state maximumRetryAttempts and maximumEventAgeInSeconds"


@resource_rule(
    id="dynamodb-kms",
    area="serverless",
    types=(DYNAMODB_TABLE,),
    description="DynamoDB tables are encrypted with a customer-managed KMS key.",
    severity=MEDIUM,
    remediation="Set server_side_encryption={'enabled': True, 'kms_key_arn': <platform key ARN>}.",
    controls=("CKV_AWS_119",),
    on_unknown="pass",
)
def dynamodb_kms(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not truthy(dig(props, "serverSideEncryption", "enabled")) or not is_set(
        props, "serverSideEncryption", "kmsKeyArn"
    ):
        yield "serverSideEncryption does not name a customer-managed key: the table uses an AWS-owned key"


@resource_rule(
    id="dynamodb-pitr",
    area="serverless",
    types=(DYNAMODB_TABLE,),
    description="DynamoDB tables have point-in-time recovery.",
    severity=MEDIUM,
    remediation="Set point_in_time_recovery={'enabled': True}.",
    controls=("FSBP DynamoDB.2", "CKV_AWS_28"),
    on_unknown="pass",
)
def dynamodb_pitr(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not truthy(dig(props, "pointInTimeRecovery", "enabled")):
        yield "pointInTimeRecovery is not enabled: a bad write or delete cannot be undone"


@resource_rule(
    id="dynamodb-deletion-protection",
    area="serverless",
    types=(DYNAMODB_TABLE,),
    description="DynamoDB tables have deletion protection (outside dev).",
    severity=MEDIUM,
    remediation="Set deletion_protection_enabled=True (the section's table_deletion_protection in staging/prod).",
    controls=("FSBP DynamoDB.6",),
    on_unknown="pass",
)
def dynamodb_deletion_protection(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not truthy(props.get("deletionProtectionEnabled")):
        yield "deletionProtectionEnabled is not true: one API call deletes the table"
