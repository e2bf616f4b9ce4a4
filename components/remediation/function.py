"""One Python Lambda function as the platform runs them: code packaged by the program from a directory of the
repository (no build step), its own role with exactly the statements given, a dead-letter queue, X-Ray tracing,
reserved concurrency, a bounded timeout and a KMS-encrypted log group with retention.

The dead-letter queue takes both the function's failed asynchronous invocations (after Lambda's own retries) and
the events EventBridge could not deliver to it (the rules named in `event_rule_arns`), so an operator finds every
lost event in one place. It is encrypted with the alerts key, whose policy already lets EventBridge use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from lib.aws import AwsContext
from lib.iam import deny_insecure_transport, policy_document, service_trust_policy

RUNTIME = "python3.12"
LAMBDAS_DIR = Path(__file__).resolve().parent.parent.parent / "lambdas"
# How long a failed asynchronous invocation (or an undelivered event) is kept in the dead-letter queue: SQS's maximum.
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# Lambda's own retries of a failed asynchronous invocation, and the age after which an event is dead-lettered.
ASYNC_RETRIES = 2
ASYNC_MAX_AGE_SECONDS = 6 * 3600


def code_archive(package: str, directory: Path = LAMBDAS_DIR) -> pulumi.AssetArchive:
    """The function's bundle: every `*.py` of `lambdas/<package>/` under `<package>/` (relative imports work the
    same in the repository and in Lambda), nothing else (no caches, no tests)."""
    source = directory / package
    files = sorted(source.glob("*.py"))
    if not files:
        raise FileNotFoundError(f"no Python files in {source}")
    return pulumi.AssetArchive({f"{package}/{path.name}": pulumi.FileAsset(str(path)) for path in files})


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the platform's functions.

    function_name: the Lambda name (1-64 of letters, digits, - and _).
    package / handler: `lambdas/<package>` and the entry point within it, e.g. `handler.handle`.
    description: shown in the console.
    statements: the role's permissions (besides its logs, traces and the dead-letter queue, added here).
    environment: non-secret settings.
    timeout_seconds / memory_mb / reserved_concurrency: bounds of one invocation and of parallel runs.
    log_retention_days: retention of `/aws/lambda/<function_name>`.
    event_rule_arns: EventBridge rules allowed to dead-letter their undeliverable events into the queue.
    """

    function_name: str
    package: str
    handler: str
    description: str
    statements: Sequence[Mapping[str, Any]]
    environment: Mapping[str, pulumi.Input[str]]
    log_retention_days: int
    timeout_seconds: int = 60
    memory_mb: int = 256
    reserved_concurrency: int = 2
    event_rule_arns: Sequence[pulumi.Input[str]] = ()


@dataclass(frozen=True)
class PythonFunction:
    """The declared function and what callers wire to it."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    dead_letter_queue: aws.sqs.Queue
    log_group: aws.cloudwatch.LogGroup


def base_statements(
    aws_ctx: AwsContext, function_name: str, queue_arn: pulumi.Input[str], alerts_key_arn: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """Write its own log group's streams, send traces, dead-letter into its queue (encrypting with the alerts key,
    through SQS only)."""
    log_group = aws_ctx.arn("logs", f"log-group:/aws/lambda/{function_name}")
    return [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group}:log-stream:*",
        },
        # X-Ray's trace APIs support no resource-level permissions: `*` is what AWS requires.
        {
            "Sid": "SendTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
        {"Sid": "DeadLetter", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn},
        {
            "Sid": "EncryptDeadLettersThroughSqs",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": alerts_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": aws_ctx.regional_endpoint("sqs")}},
        },
    ]


def queue_policy(aws_ctx: AwsContext, queue_arn: str, rule_arns: Sequence[str]) -> str:
    """TLS only; EventBridge may dead-letter events of exactly `rule_arns` (AWS's documented target-DLQ grant)."""
    statements: list[dict[str, Any]] = [deny_insecure_transport("sqs:*", queue_arn, sid="DenyInsecureTransport")]
    if rule_arns:
        statements.append(
            {
                "Sid": "EventBridgeDeadLettersItsRules",
                "Effect": "Allow",
                "Principal": {"Service": aws_ctx.service_principal("events")},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": list(rule_arns)}},
            }
        )
    return json.dumps(policy_document(statements))


def python_function(
    owner: PlatformComponent,
    name: str,
    spec: FunctionSpec,
    *,
    aws_ctx: AwsContext,
    alerts_key_arn: pulumi.Input[str],
    logs_key_arn: pulumi.Input[str],
) -> PythonFunction:
    """Declare `<name>-dlq`, `<name>-dlq-policy`, `<name>-logs`, `<name>-role`, `<name>-policy`, `<name>` and
    `<name>-async` under `owner`. The function waits for its policy and log group: its first invocation can
    already log, trace and dead-letter."""
    queue = aws.sqs.Queue(
        f"{name}-dlq",
        name=f"{spec.function_name}-dlq",
        kms_master_key_id=alerts_key_arn,
        kms_data_key_reuse_period_seconds=300,
        message_retention_seconds=DLQ_RETENTION_SECONDS,
        opts=owner.child_opts(),
    )
    aws.sqs.QueuePolicy(
        f"{name}-dlq-policy",
        queue_url=queue.url,
        policy=pulumi.Output.all(queue.arn, list(spec.event_rule_arns)).apply(
            lambda values: queue_policy(aws_ctx, values[0], values[1])
        ),
        opts=owner.child_opts(),
    )
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=f"/aws/lambda/{spec.function_name}",
        retention_in_days=spec.log_retention_days,
        kms_key_id=logs_key_arn,
        opts=owner.child_opts(),
    )
    role = aws.iam.Role(
        f"{name}-role",
        description=f"Lambda {spec.function_name}: {spec.description}"[:1000],
        assume_role_policy=service_trust_policy(aws_ctx, "lambda"),  # Lambda sets no aws:SourceAccount here
        max_session_duration=3600,
        opts=owner.child_opts(),
    )
    statements = [*base_statements(aws_ctx, spec.function_name, queue.arn, alerts_key_arn), *spec.statements]
    policy = aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        policy=pulumi.Output.json_dumps(policy_document(statements)),
        opts=owner.child_opts(),
    )
    function = aws.lambda_.Function(
        name,
        name=spec.function_name,
        description=spec.description[:256],
        runtime=RUNTIME,
        architectures=["arm64"],
        handler=f"{spec.package}.{spec.handler}",
        code=code_archive(spec.package),
        role=role.arn,
        timeout=spec.timeout_seconds,
        memory_size=spec.memory_mb,
        reserved_concurrent_executions=spec.reserved_concurrency,
        environment={"variables": dict(spec.environment)},
        dead_letter_config={"target_arn": queue.arn},
        tracing_config={"mode": "Active"},
        logging_config={
            "log_format": "JSON",
            "log_group": log_group.name,
            "application_log_level": "INFO",
            "system_log_level": "WARN",
        },
        opts=owner.child_opts(depends_on=[policy, log_group]),
    )
    aws.lambda_.FunctionEventInvokeConfig(
        f"{name}-async",
        function_name=function.name,
        maximum_retry_attempts=ASYNC_RETRIES,
        maximum_event_age_in_seconds=ASYNC_MAX_AGE_SECONDS,
        opts=owner.child_opts(),
    )
    return PythonFunction(function=function, role=role, dead_letter_queue=queue, log_group=log_group)


def service_invoke_permission(
    owner: PlatformComponent,
    name: str,
    function: aws.lambda_.Function,
    service: str,
    source_arn: pulumi.Input[str],
    aws_ctx: AwsContext,
) -> aws.lambda_.Permission:
    """`name`: lets one AWS service (`events`, `secretsmanager`) invoke `function`, only for `source_arn` in this
    account (never a public function: the confused-deputy conditions AWS documents)."""
    return aws.lambda_.Permission(
        name,
        action="lambda:InvokeFunction",
        function=function.name,
        principal=aws_ctx.service_principal(service),
        source_arn=source_arn,
        source_account=aws_ctx.account_id,
        opts=owner.child_opts(),
    )
