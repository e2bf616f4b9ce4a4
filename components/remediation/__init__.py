"""Automated remediation: high-severity GuardDuty findings block the attacker's address at the ai-api's WAF.

An EventBridge rule matches GuardDuty findings of at least `security.ip_blocking.min_severity` that carry a remote
IPv4 address (network connection, AWS API call, port probe, Kubernetes API call, RDS login attempt) and invokes the
`ip-blocking` Lambda (`lambdas/ip_blocking`), which adds the `/32` to the WAF blocklist IP set and records it, with
its expiry, in a DynamoDB table; a second rule runs it every 15 minutes to remove expired blocks. The table is the
proof of ownership: the automation never removes an address it did not add. `python -m ops security block-ip`
uses the same library on the same table.

Delivery: EventBridge retries the invocation (bounded by a retry policy) and dead-letters what it could not deliver;
Lambda retries a failed run twice and dead-letters it; both land in the function's queue. The findings reach the
on-call through the security topic by the detection work's own rule: this one only acts.

`rotation` holds the ai-api's application secrets and their rotation; `function` the Lambda builder both use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.remediation.function import FunctionSpec, python_function, service_invoke_permission
from config.security import IpBlockingConfig
from lambdas.ip_blocking.blocklist import REMOTE_IP_PATHS
from lib.aws import AwsContext
from lib.security import blocking_names

__all__ = ["IpBlocking", "IpBlockingArgs", "finding_pattern"]

EXPIRY_SCHEDULE = "rate(15 minutes)"
# EventBridge's retries of an invocation that failed to be delivered, and how old an event may get before it is
# dead-lettered instead (a block hours late still helps; a day late it is stale).
EVENT_RETRIES = 8
EVENT_MAX_AGE_SECONDS = 6 * 3600


def finding_pattern(min_severity: float) -> dict[str, Any]:
    """GuardDuty findings of at least `min_severity` whose action carries a remote IPv4 address (`$or` over the
    action types; an array such as `portProbeDetails` matches when any element does)."""
    alternatives = []
    for action, path in REMOTE_IP_PATHS.items():
        leaf: dict[str, Any] = {"ipAddressV4": [{"exists": True}]}
        for key in reversed([action, *(step for step in path if step != "*")]):
            leaf = {key: leaf}
        alternatives.append({"service": {"action": leaf}})
    return {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": [">=", min_severity]}], "$or": alternatives},
    }


@dataclass(frozen=True)
class IpBlockingArgs:
    """Inputs of `IpBlocking`.

    config: `ai-platform:security.ip_blocking`.
    stack: names the table and function (`lib.security.blocking_names`).
    aws: account, partition, region for ARNs and principals.
    ip_set_arn / ip_set_id / ip_set_name: the ai-api's WAF blocklist (registered outputs of AiApi).
    table_kms_key_arn: key of the table (the platform's security key).
    alerts_kms_key_arn: key of the dead-letter queue (its policy lets EventBridge use it).
    logs_kms_key_arn: key of the function's log group.
    backup_plan_id / backup_role_arn: the platform's AWS Backup plan and its role; the table joins the plan with a
        selection of its own (the table is declared after the plan's own selection). None: no selection.
    """

    config: IpBlockingConfig
    stack: str
    aws: AwsContext
    ip_set_arn: pulumi.Input[str]
    ip_set_id: pulumi.Input[str]
    ip_set_name: pulumi.Input[str]
    table_kms_key_arn: pulumi.Input[str]
    alerts_kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    backup_plan_id: pulumi.Input[str] | None = None
    backup_role_arn: pulumi.Input[str] | None = None


def function_statements(args: IpBlockingArgs, table_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """Read and update exactly the blocklist IP set; read and write items of exactly the table (its key used through
    DynamoDB only)."""
    return [
        {
            "Sid": "MaintainBlocklist",
            "Effect": "Allow",
            "Action": ["wafv2:GetIPSet", "wafv2:UpdateIPSet"],
            "Resource": args.ip_set_arn,
        },
        {
            "Sid": "RecordBlocks",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"],
            "Resource": table_arn,
        },
        {
            "Sid": "UseTableKeyThroughDynamoDb",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": args.table_kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": args.aws.regional_endpoint("dynamodb")}},
        },
    ]


class IpBlocking(PlatformComponent):
    """The blocks table, the IP-blocking Lambda (with its queue, logs and role), the finding and expiry rules."""

    area = "security"

    def __init__(self, name: str, args: IpBlockingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        names, config = blocking_names(args.stack), args.config
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=names.table,
            billing_mode="PAY_PER_REQUEST",
            hash_key="address",
            attributes=[{"name": "address", "type": "S"}],
            # `purge_at` lies a week after a block's expiry: the 15-minute run removes the block long before TTL
            # could delete the record proving the address is the automation's.
            ttl={"attribute_name": "purge_at", "enabled": True},
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": args.table_kms_key_arn},
            deletion_protection_enabled=config.table_deletion_protection,
            opts=self.child_opts(protect=config.table_deletion_protection),
        )
        if args.backup_plan_id is not None and args.backup_role_arn is not None:
            # The record of which addresses are the automation's is state: backed up with the platform's plan.
            aws.backup.Selection(
                f"{name}-backup",
                name=f"{args.stack}-ip-blocks"[:50],
                plan_id=args.backup_plan_id,
                iam_role_arn=args.backup_role_arn,
                resources=[self.table.arn],
                opts=self.child_opts(),
            )
        self.finding_rule = aws.cloudwatch.EventRule(
            f"{name}-findings",
            name=f"{names.function}-findings",
            description=f"GuardDuty findings of severity >= {config.min_severity} with a remote IPv4: block at the WAF",
            event_pattern=json.dumps(finding_pattern(config.min_severity)),
            opts=self.child_opts(),
        )
        self.expiry_rule = aws.cloudwatch.EventRule(
            f"{name}-expiry",
            name=f"{names.function}-expiry",
            description="Remove expired automatic IP blocks from the WAF blocklist",
            schedule_expression=EXPIRY_SCHEDULE,
            opts=self.child_opts(),
        )
        rules = (self.finding_rule, self.expiry_rule)
        self.function = python_function(
            self,
            f"{name}-function",
            FunctionSpec(
                function_name=names.function,
                package="ip_blocking",
                handler="handler.handle",
                description="Blocks remote IPs of high-severity GuardDuty findings at the ai-api WAF; expires blocks",
                statements=function_statements(args, self.table.arn),
                environment={
                    "IP_SET_NAME": args.ip_set_name,
                    "IP_SET_ID": args.ip_set_id,
                    "IP_SET_SCOPE": "REGIONAL",
                    "TABLE_NAME": self.table.name,
                    "BLOCK_HOURS": str(config.block_hours),
                    "MIN_SEVERITY": str(config.min_severity),
                },
                log_retention_days=config.log_retention_days,
                timeout_seconds=60,
                # Two runs at once at most: a burst of findings queues (asynchronous invocations wait and retry)
                # instead of racing for the IP set's lock token.
                reserved_concurrency=2,
                event_rule_arns=[rule.arn for rule in rules],
            ),
            aws_ctx=args.aws,
            alerts_key_arn=args.alerts_kms_key_arn,
            logs_key_arn=args.logs_kms_key_arn,
        )
        function = self.function.function
        for rule, role in ((self.finding_rule, "findings"), (self.expiry_rule, "expiry")):
            permission = service_invoke_permission(
                self, f"{name}-{role}-invoke", function, "events", rule.arn, args.aws
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{role}-target",
                rule=rule.name,
                arn=function.arn,
                retry_policy={
                    "maximum_retry_attempts": EVENT_RETRIES,
                    "maximum_event_age_in_seconds": EVENT_MAX_AGE_SECONDS,
                },
                dead_letter_config={"arn": self.function.dead_letter_queue.arn},
                opts=self.child_opts(depends_on=[permission]),
            )
        self.table_name = self.table.name
        self.function_name = function.name
        self.function_arn = function.arn
        self.finding_rule_arn = self.finding_rule.arn
        self.dead_letter_queue_url = self.function.dead_letter_queue.url
        self.register_outputs(
            {
                "table_name": self.table_name,
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "finding_rule_arn": self.finding_rule_arn,
                "dead_letter_queue_url": self.dead_letter_queue_url,
            }
        )
