"""DnsZone: the stack's public hosted zone (created and protected, or an existing one by id) and its DNS query logs."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.edge.targets import route53_home_region
from components.identity import key_policy
from config import PROJECT
from config.dns import DnsConfig
from lib.aws import AwsContext
from lib.iam import policy_document


@dataclass(frozen=True)
class DnsZoneArgs:
    """Inputs of `DnsZone`.

    config: the `ai-platform:dns` section (zone name, existing zone id, query-log retention, protect).
    stack: names the log group's resource policy (`ai-platform-<stack>-route53-query-logs`).
    aws: account and partition; the query logs live in Route 53's home region of the partition (us-east-1).
    logs_kms_key_arn: a KMS key in that region whose policy lets CloudWatch Logs use it (the platform's logs key
        when the stack runs there); None (default): the zone declares such a key of its own.
    """

    config: DnsConfig
    stack: str
    aws: AwsContext
    logs_kms_key_arn: pulumi.Input[str] | None = None


def query_log_policy(aws_ctx: AwsContext, log_group_arn: str, zone_id: str) -> dict[str, Any]:
    """The CloudWatch Logs resource policy Route 53 needs to write a zone's query logs: Route 53 may create streams
    and put events in that log group only, on behalf of this account's zone only (confused-deputy conditions)."""
    return policy_document(
        [
            {
                "Sid": "Route53WritesQueryLogs",
                "Effect": "Allow",
                "Principal": {"Service": aws_ctx.service_principal("route53")},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": aws_ctx.account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{aws_ctx.partition}:route53:::hostedzone/{zone_id}"},
                },
            }
        ]
    )


class DnsZone(PlatformComponent):
    """A public hosted zone and its query logging.

    A zone the stack creates is protected (a new zone gets new name servers, and the registrar's delegation to the
    old ones would break) and its name servers are an output: delegate to them once. An existing zone (`zone_id`)
    is only referred to. Either way Route 53 logs every query the zone answers to a log group in us-east-1 (where
    Route 53 delivers query logs), encrypted with a logs key of that region, retained as configured.
    """

    area = "edge"

    def __init__(self, name: str, args: DnsZoneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config = args.config
        self.zone_name = config.zone_name
        self.name_servers: pulumi.Output[list[str]] | None = None
        if config.zone_id is None:
            zone = aws.route53.Zone(
                f"{name}-zone",
                name=config.zone_name,
                comment=f"{PROJECT} {args.stack}: public names of the platform (managed by Pulumi)",
                force_destroy=False,
                opts=self.child_opts(protect=config.protect),
            )
            self.zone_id: pulumi.Output[str] = zone.zone_id
            self.name_servers = zone.name_servers
        else:
            self.zone_id = pulumi.Output.from_input(config.zone_id)
        self.query_log_group_name = self._query_logging(name, args)
        self.register_outputs(
            {
                "zone_id": self.zone_id,
                "zone_name": self.zone_name,
                "name_servers": self.name_servers,
                "query_log_group_name": self.query_log_group_name,
            }
        )

    def _query_logging(self, name: str, args: DnsZoneArgs) -> str:
        """The log group (us-east-1), its resource policy for Route 53, and the zone's query logging config."""
        home = route53_home_region(args.aws.partition)
        home_ctx = dataclasses.replace(args.aws, region=home)
        key_arn = args.logs_kms_key_arn
        if key_arn is None:
            # The platform's logs key lives in the stack's region; CloudWatch Logs needs one in the log group's.
            key = aws.kms.Key(
                f"{name}-query-logs-key",
                description=f"{name}: Route 53 query logs of {args.config.zone_name}",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=30,
                bypass_policy_lockout_safety_check=False,
                policy=json.dumps(key_policy("logs", home_ctx)),
                region=home,
                opts=self.child_opts(protect=True),
            )
            key_arn = key.arn
        group_name = f"/aws/route53/{args.config.zone_name}"
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-query-logs",
            name=group_name,
            retention_in_days=args.config.query_log_retention_days,
            kms_key_id=key_arn,
            region=home,
            opts=self.child_opts(),
        )
        policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-query-logs-policy",
            policy_name=f"{PROJECT}-{args.stack}-route53-query-logs",
            policy_document=pulumi.Output.all(log_group.arn, self.zone_id).apply(
                lambda values: json.dumps(query_log_policy(home_ctx, values[0], values[1]))
            ),
            region=home,
            opts=self.child_opts(),
        )
        aws.route53.QueryLog(
            f"{name}-query-log",
            zone_id=self.zone_id,
            cloudwatch_log_group_arn=log_group.arn,
            # Route 53 checks it may write to the group when the config is created.
            opts=self.child_opts(depends_on=[policy]),
        )
        return group_name
