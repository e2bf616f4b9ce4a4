"""Operations: what keeps a stack affordable and its users informed.

A monthly AWS Budget over the resources tagged with this stack (actual and forecast alerts into the platform's
alert topics), a Cost Anomaly Detection monitor on the same tag, the platform's tag keys activated for cost
allocation (by the one stack that owns that account-level setting), and, with a maintenance window, a notice to
the users `maintenance.notice_hours` before each window (EventBridge Scheduler -> an encrypted SNS topic).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from config import PROJECT
from config.cost import CostConfig
from config.maintenance import MaintenanceConfig
from lib.aws import AwsContext
from lib.iam import account_manages_topic, deny_insecure_transport, policy_document, service_trust_policy


@dataclass(frozen=True)
class CostAlertTopics:
    """Where cost alerts go (the Alarms topics): spend nearing the budget to `info` (e-mail), spend or forecast
    past it to `warning` (chat), an anomaly to `warning`."""

    info: pulumi.Input[str]
    warning: pulumi.Input[str]


@dataclass(frozen=True)
class OperationsArgs:
    """Inputs of `Operations`.

    stack: names the budget, monitor, topic and schedule (`ai-platform-<stack>-...`) and selects the costs (the
        `stack` tag every resource carries).
    cost: the `ai-platform:cost` section. maintenance: the `ai-platform:maintenance` section.
    cost_allocation_tag_keys: tag keys to activate for cost allocation (the platform's mandatory and required
        tags), when `cost.manage_cost_allocation_tags`.
    alert_topics: the alert topics cost alerts go to (their policies admit AWS Budgets and Cost Anomaly
        Detection); none when observability is off: the budget and monitor exist, visible in the console only.
    kms_key_arn: the alerts key (the notice topic's encryption).
    aws: account, partition and region.
    """

    stack: str
    cost: CostConfig
    maintenance: MaintenanceConfig
    cost_allocation_tag_keys: Sequence[str]
    alert_topics: CostAlertTopics | None
    kms_key_arn: pulumi.Input[str]
    aws: AwsContext


def budget_notifications(cost: CostConfig, topics: CostAlertTopics) -> list[aws.budgets.BudgetNotificationArgsDict]:
    """One notification per actual-spend threshold (below 100% to `info`, from 100% to `warning`) and one for the
    forecast (to `warning`): a budget overrun is worked on in office hours, never paged."""
    notifications: list[aws.budgets.BudgetNotificationArgsDict] = [
        {
            "notification_type": "ACTUAL",
            "comparison_operator": "GREATER_THAN",
            "threshold": percent,
            "threshold_type": "PERCENTAGE",
            "subscriber_sns_topic_arns": [topics.warning if percent >= 100 else topics.info],
        }
        for percent in sorted(cost.actual_alert_percents)
    ]
    notifications.append(
        {
            "notification_type": "FORECASTED",
            "comparison_operator": "GREATER_THAN",
            "threshold": cost.forecast_alert_percent,
            "threshold_type": "PERCENTAGE",
            "subscriber_sns_topic_arns": [topics.warning],
        }
    )
    return notifications


def anomaly_monitor_specification(stack: str) -> str:
    """A Cost Explorer expression selecting the costs tagged `stack=<stack>` (a custom anomaly monitor)."""
    return json.dumps({"Tags": {"Key": "stack", "Values": [stack], "MatchOptions": ["EQUALS"]}})


def notice_message(stack: str, maintenance: MaintenanceConfig) -> dict[str, Any]:
    """What subscribers receive: which stack, when (UTC), what may happen and what does not."""
    return {
        "stack": stack,
        "window_utc": maintenance.window,
        "starts_in_hours": maintenance.notice_hours,
        "what": "Planned maintenance: nodes may be replaced one at a time and add-ons upgraded. The ai-api stays "
        "up (pod disruption budgets, rolling replacement); brief latency increases are possible.",
    }


def notice_topic_policy(aws_ctx: AwsContext, topic_arn: str, publisher_role_arn: str) -> dict[str, Any]:
    """The notice topic's policy: the account manages it, only the scheduler's role publishes, TLS only."""
    return policy_document(
        [
            account_manages_topic(aws_ctx, topic_arn, publishes=False),
            {
                "Sid": "SchedulerRolePublishes",
                "Effect": "Allow",
                "Principal": {"AWS": publisher_role_arn},
                "Action": "SNS:Publish",
                "Resource": topic_arn,
            },
            deny_insecure_transport("SNS:Publish", topic_arn, sid="DenyInsecureTransport"),
        ]
    )


def _endpoint_key(endpoint: str) -> str:
    """A stable, short resource-name key for a subscriber (the address itself stays out of URNs)."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:10]


class Operations(PlatformComponent):
    """The stack's budget, cost-anomaly monitor, cost-allocation tags and maintenance notices."""

    area = "operations"

    def __init__(self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        prefix = f"{PROJECT}-{args.stack}"
        self.budget = aws.budgets.Budget(
            f"{name}-budget",
            name=f"{prefix}-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{args.cost.monthly_budget_usd:.2f}",
            limit_unit="USD",
            cost_filters=[{"name": "TagKeyValue", "values": [f"user:stack${args.stack}"]}],
            notifications=budget_notifications(args.cost, args.alert_topics) if args.alert_topics else None,
            opts=self.child_opts(),
        )
        monitor = aws.costexplorer.AnomalyMonitor(
            f"{name}-anomaly-monitor",
            name=f"{prefix}-costs",
            monitor_type="CUSTOM",
            monitor_specification=anomaly_monitor_specification(args.stack),
            opts=self.child_opts(),
        )
        if args.alert_topics is not None:
            self._anomaly_alerts(name, prefix, monitor, args.alert_topics, args.cost)
        if args.cost.manage_cost_allocation_tags:
            for key in args.cost_allocation_tag_keys:
                aws.costexplorer.CostAllocationTag(
                    f"{name}-cost-tag-{key}", tag_key=key, status="Active", opts=self.child_opts()
                )
        self.notice_topic_arn: pulumi.Output[str] | None = self._maintenance_notices(name, prefix, args)
        self.budget_name = f"{prefix}-monthly"
        self.register_outputs({"budget_name": self.budget_name, "notice_topic_arn": self.notice_topic_arn})

    def _anomaly_alerts(
        self,
        name: str,
        prefix: str,
        monitor: aws.costexplorer.AnomalyMonitor,
        topics: CostAlertTopics,
        cost: CostConfig,
    ) -> None:
        """Each anomaly of at least `anomaly_threshold_usd` total impact, as it is detected, to `warning`."""
        aws.costexplorer.AnomalySubscription(
            f"{name}-anomaly-alerts",
            name=f"{prefix}-cost-anomalies",
            frequency="IMMEDIATE",  # SNS subscribers receive each anomaly as it is detected
            monitor_arn_lists=[monitor.arn],
            subscribers=[{"type": "SNS", "address": topics.warning}],
            threshold_expression={
                "dimension": {
                    "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                    "match_options": ["GREATER_THAN_OR_EQUAL"],
                    "values": [str(cost.anomaly_threshold_usd)],
                }
            },
            opts=self.child_opts(),
        )

    def _maintenance_notices(self, name: str, prefix: str, args: OperationsArgs) -> pulumi.Output[str] | None:
        """The notice topic, its subscribers, and the weekly schedule that publishes the notice to it."""
        schedule = args.maintenance.notice_schedule()
        if schedule is None:
            return None
        topic = aws.sns.Topic(
            f"{name}-maintenance-notices",
            name=f"{prefix}-maintenance-notices",
            display_name=f"{prefix} maintenance"[:100],
            kms_master_key_id=args.kms_key_arn,
            opts=self.child_opts(),
        )
        role = aws.iam.Role(
            f"{name}-notice-scheduler",
            name=f"{prefix}-maintenance-notice",
            description=f"EventBridge Scheduler publishes the maintenance notices of {prefix}",
            assume_role_policy=service_trust_policy(args.aws, "scheduler", source_account_guard=True),
            opts=self.child_opts(),
        )
        grant = aws.iam.RolePolicy(
            f"{name}-notice-scheduler-publish",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                policy_document(
                    [
                        {"Sid": "PublishNotice", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic.arn},
                        {
                            "Sid": "EncryptNoticeThroughSns",
                            "Effect": "Allow",
                            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                            "Resource": args.kms_key_arn,
                            "Condition": {"StringEquals": {"kms:ViaService": args.aws.regional_endpoint("sns")}},
                        },
                    ]
                )
            ),
            opts=self.child_opts(),
        )
        policy = aws.sns.TopicPolicy(
            f"{name}-maintenance-notices-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, role.arn).apply(
                lambda arns: json.dumps(notice_topic_policy(args.aws, arns[0], arns[1]))
            ),
            opts=self.child_opts(),
        )
        for subscriber in args.maintenance.notice_subscribers:
            aws.sns.TopicSubscription(
                f"{name}-notice-{subscriber.protocol}-{_endpoint_key(subscriber.endpoint)}",
                topic=topic.arn,
                protocol=subscriber.protocol,
                endpoint=subscriber.endpoint,
                opts=self.child_opts(),
            )
        aws.scheduler.Schedule(
            f"{name}-maintenance-notice",
            name=f"{prefix}-maintenance-notice",
            description=f"Notice {args.maintenance.notice_hours} h before the window {args.maintenance.window} UTC",
            schedule_expression=schedule,
            schedule_expression_timezone="Etc/UTC",
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": topic.arn,
                "role_arn": role.arn,
                "input": json.dumps(notice_message(args.stack, args.maintenance)),
                "retry_policy": {"maximum_retry_attempts": 10, "maximum_event_age_in_seconds": 3600},
            },
            # The first notice must find the role's permissions and the topic's policy in place.
            opts=self.child_opts(depends_on=[grant, policy]),
        )
        return topic.arn


def cost_allocation_tag_keys(tags: Mapping[str, str]) -> list[str]:
    """The tag keys to activate: every key of the stack's mandatory tags plus `component` (set per component)."""
    return sorted({*tags, "component"})
