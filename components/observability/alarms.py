"""Alarms: the AWS side of alerting. An SNS topic per severity (encrypted with the platform's alerts key, publishable
only by this account's CloudWatch alarms and EventBridge rules, TLS only), their SMS and e-mail subscriptions, the
CloudWatch alarms of `alarm_catalog`, the AWS Backup job-failure rule and one dashboard per stack.

Built after the resources it watches, from their outputs. Who hears what: critical pages (SMS here; PagerDuty and
Slack are subscribed by hand, README "CloudWatch alarms"), warning goes to the chat channel, info by e-mail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.observability.alarm_catalog import (
    BACKUP_FAILURE_KEY,
    BACKUP_FAILURE_SEVERITY,
    ROUTE53_METRICS_REGION,
    RUNBOOK,
    SEVERITIES,
    AlarmSpec,
    DatabaseFacts,
    Metric,
    ReplicatedBucketMetric,
    Severity,
    alb_alarms,
    backup_failure_pattern,
    certificate_alarms,
    dashboard_body,
    database_alarms,
    drill_alarms,
    global_database_alarms,
    health_check_alarms,
    load_balancer_dimension,
    queue_alarms,
    replication_alarms,
    waf_alarms,
)
from config import PROJECT, StackConfigError
from config.observability import ObservabilityConfig
from lib.aws import AwsContext
from lib.iam import account_manages_topic, deny_insecure_transport, policy_document

# Who may publish to the topics, for this account only: CloudWatch alarms, EventBridge rules, AWS Budgets and Cost
# Anomaly Detection (their service principals).
ALARM_PUBLISHER, EVENT_PUBLISHER, BUDGET_PUBLISHER, ANOMALY_PUBLISHER = "cloudwatch", "events", "budgets", "costalerts"


@dataclass(frozen=True)
class ApiWatch:
    """What the alarms watch of the ai-api (AiApi outputs): its web ACL, its ALB's fixed name, the certificate its
    ALB serves (issued through the zone or `api.certificate_arn`), and the Route 53 health check of its primary
    failover record (EntryRecord output; None without one)."""

    web_acl_name: pulumi.Input[str]
    load_balancer_name: str
    certificate_arn: pulumi.Input[str]
    health_check_id: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class ReplicationWatch:
    """What the replication alarms watch (Storage and DisasterRecovery outputs): bucket key -> source bucket,
    replica bucket and replication rule id."""

    source_bucket_names: Mapping[str, pulumi.Input[str]]
    replica_bucket_names: Mapping[str, pulumi.Input[str]]
    rule_ids: Mapping[str, str]


@dataclass(frozen=True)
class AlarmsArgs:
    """Inputs of `Alarms`.

    config: the `ai-platform:observability` section (routing: SMS numbers, e-mail addresses; cloudwatch settings).
    stack: names the topics, alarms, rule and dashboard (`ai-platform-<stack>-...`).
    aws: account, partition and region (topic policies, metric regions).
    kms_key_arn: the platform's alerts key (its policy lets CloudWatch and EventBridge use it for this account).
    database: the Aurora cluster's identifier and capacity (Database outputs).
    backup_vault_name: the vault whose failed jobs raise an alert (Backup output).
    interruption_queue_name: Karpenter's interruption queue (Addons output); None without Karpenter.
    api: the ai-api's web ACL, ALB and certificate (AiApi outputs); None without the workload.
    name_suffix: appended to the name prefix `ai-platform-<stack>` (the DR site's `-dr`: dashboards are global).
    replication: the S3 cross-region replication (source region only); None without DR.
    drill_stack: the stack whose restore drills this site watches (the active site of a stack with DR: the drill
        publishes its metrics there); None without DR.
    global_secondary: identifier of the Aurora Global secondary cluster of this region, whose lag metrics this
        region's alarms watch; None when this region holds no secondary.
    """

    config: ObservabilityConfig
    stack: str
    aws: AwsContext
    kms_key_arn: pulumi.Input[str]
    database: DatabaseFacts
    backup_vault_name: pulumi.Input[str]
    interruption_queue_name: pulumi.Input[str] | None = None
    api: ApiWatch | None = None
    name_suffix: str = ""
    replication: ReplicationWatch | None = None
    global_secondary: pulumi.Input[str] | None = None
    drill_stack: str | None = None


def alarm_specs(args: AlarmsArgs) -> list[AlarmSpec]:
    """Every alarm of the stack: database and queue always (queue with Karpenter), WAF and certificate with the
    ai-api, ALB alarms once `cloudwatch.load_balancer_id` names the ALB the controller created."""
    settings = args.config.cloudwatch
    try:
        specs = database_alarms(args.database)
    except ValueError as error:
        raise StackConfigError([f"Pulumi.{args.stack}.yaml: ai-platform:database.instance_class: {error}"]) from None
    if args.interruption_queue_name is not None:
        specs += queue_alarms(args.interruption_queue_name)
    if args.api is not None:
        if settings.load_balancer_id is not None:
            specs += alb_alarms(load_balancer_dimension(args.api.load_balancer_name, settings.load_balancer_id))
        specs += waf_alarms(args.api.web_acl_name, args.aws.region, settings.waf_blocked_requests)
        specs += certificate_alarms(args.api.certificate_arn)
        # Route 53 publishes health-check metrics in us-east-1 only, and an alarm notifies topics of its own region:
        # stacks elsewhere see the health check's status in the Route 53 console.
        if args.api.health_check_id is not None and args.aws.region == ROUTE53_METRICS_REGION:
            specs += health_check_alarms(args.api.health_check_id)
    if args.replication is not None:
        watch = args.replication
        specs += replication_alarms(
            {
                key: ReplicatedBucketMetric(source, watch.replica_bucket_names[key], watch.rule_ids[key])
                for key, source in watch.source_bucket_names.items()
            }
        )
    if args.global_secondary is not None:
        specs += global_database_alarms(args.global_secondary)
    if args.drill_stack is not None:
        specs += drill_alarms(args.drill_stack)
    return specs


def topic_policy(aws_ctx: AwsContext, topic_arn: str, prefix: str) -> dict[str, Any]:
    """The topic's policy: the account manages it; this account's CloudWatch alarms, this stack's EventBridge rules
    and budgets, and its cost-anomaly subscriptions may publish (aws:SourceAccount and aws:SourceArn, against the
    confused deputy); nothing over plain HTTP."""
    account = {"aws:SourceAccount": aws_ctx.account_id}

    def service_publishes(sid: str, service: str, source_arn: str) -> dict[str, Any]:
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": aws_ctx.service_principal(service)},
            "Action": "SNS:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": account, "ArnLike": {"aws:SourceArn": source_arn}},
        }

    return policy_document(
        [
            account_manages_topic(aws_ctx, topic_arn, publishes=True),
            service_publishes("CloudWatchAlarmsPublish", ALARM_PUBLISHER, aws_ctx.arn("cloudwatch", "alarm:*")),
            service_publishes("EventBridgeRulesPublish", EVENT_PUBLISHER, aws_ctx.arn("events", f"rule/{prefix}-*")),
            # Cost alerts (components/operations.py): AWS Budgets and Cost Anomaly Detection are global services.
            service_publishes(
                "BudgetsPublish", BUDGET_PUBLISHER, aws_ctx.arn("budgets", f"budget/{prefix}-*", region=False)
            ),
            service_publishes(
                "CostAnomalyDetectionPublish",
                ANOMALY_PUBLISHER,
                aws_ctx.arn("ce", "anomalysubscription/*", region=False),
            ),
            deny_insecure_transport("SNS:Publish", topic_arn, sid="DenyInsecureTransport"),
        ]
    )


def _endpoint_key(endpoint: str) -> str:
    """A stable resource-name part for a subscription endpoint (phone number or address)."""
    return re.sub(r"[^a-z0-9]+", "-", endpoint.lower()).strip("-")


def metric_alarm_inputs(spec: AlarmSpec) -> dict[str, Any]:
    """The metric part of a MetricAlarm: one metric (namespace, name, dimensions, statistic, period), or metric
    queries (the inputs, not returned, and the expression, returned)."""
    if spec.metric is not None:
        metric = spec.metric
        return {
            "namespace": metric.namespace,
            "metric_name": metric.name,
            "dimensions": dict(metric.dimensions),
            "statistic": metric.stat,
            "period": spec.period,
        }
    queries: list[dict[str, Any]] = [
        {"id": key, "metric": _metric_stat(metric, spec.period), "return_data": False}
        for key, metric in spec.inputs.items()
    ]
    result: dict[str, Any] = {"id": "result", "expression": spec.expression, "label": spec.key, "return_data": True}
    if not spec.inputs:  # a Metrics Insights query carries its own period
        result["period"] = spec.period
    return {"metric_queries": [*queries, result]}


def _metric_stat(metric: Metric, period: int) -> dict[str, Any]:
    return {
        "namespace": metric.namespace,
        "metric_name": metric.name,
        "dimensions": dict(metric.dimensions),
        "stat": metric.stat,
        "period": period,
    }


class Alarms(PlatformComponent):
    """SNS topics per severity, their subscriptions, the CloudWatch alarms, the backup-failure rule, a dashboard."""

    area = "observability"

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        prefix = f"{PROJECT}-{args.stack}{args.name_suffix}"
        specs = alarm_specs(args)  # before any resource: a config problem stops the run with nothing declared
        self.topics: dict[Severity, aws.sns.Topic] = {}
        policies: dict[Severity, aws.sns.TopicPolicy] = {}
        for severity in SEVERITIES:
            self.topics[severity], policies[severity] = self._topic(name, prefix, severity, args)
        self._subscriptions(name, args)
        self.alarms = {spec.key: self._alarm(name, prefix, spec) for spec in specs}
        self._backup_failures(name, prefix, args, after=policies[BACKUP_FAILURE_SEVERITY])
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=prefix,
            dashboard_body=pulumi.Output.json_dumps(dashboard_body(specs, args.aws.region, RUNBOOK)),
            opts=self.child_opts(),
        )

        self.topic_arns: dict[Severity, pulumi.Output[str]] = {s: t.arn for s, t in self.topics.items()}
        self.alarm_names: list[str] = [f"{prefix}-{key}" for key in self.alarms]
        self.dashboard_name = prefix
        self.register_outputs(
            {"topic_arns": self.topic_arns, "alarm_names": self.alarm_names, "dashboard_name": self.dashboard_name}
        )

    def _topic(
        self, name: str, prefix: str, severity: Severity, args: AlarmsArgs
    ) -> tuple[aws.sns.Topic, aws.sns.TopicPolicy]:
        topic = aws.sns.Topic(
            f"{name}-{severity}",
            name=f"{prefix}-alerts-{severity}",
            display_name=f"{prefix} {severity}"[:100],
            kms_master_key_id=args.kms_key_arn,
            opts=self.child_opts(),
        )
        policy = aws.sns.TopicPolicy(
            f"{name}-{severity}-policy",
            arn=topic.arn,
            policy=topic.arn.apply(lambda arn: json.dumps(topic_policy(args.aws, arn, prefix))),
            opts=self.child_opts(),
        )
        return topic, policy

    def _subscriptions(self, name: str, args: AlarmsArgs) -> None:
        """Critical alarms by SMS to each routing number; info alarms by e-mail to each address (SNS mails a
        confirmation link first: nothing arrives until the recipient confirms)."""
        routing = args.config.routing
        targets: Sequence[tuple[Severity, str, str]] = [
            *(("critical", "sms", number) for number in routing.sms_numbers),
            *(("info", "email", address) for address in routing.email_to),
        ]
        for severity, protocol, endpoint in targets:
            aws.sns.TopicSubscription(
                f"{name}-{severity}-{protocol}-{_endpoint_key(endpoint)}",
                topic=self.topics[severity].arn,
                protocol=protocol,
                endpoint=endpoint,
                opts=self.child_opts(),
            )

    def _alarm(self, name: str, prefix: str, spec: AlarmSpec) -> aws.cloudwatch.MetricAlarm:
        topic = self.topics[spec.severity].arn
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{spec.key}",
            name=f"{prefix}-{spec.key}",
            alarm_description=spec.description(),
            comparison_operator=spec.comparison,
            threshold=spec.threshold,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm,
            treat_missing_data=spec.treat_missing_data,
            actions_enabled=True,
            alarm_actions=[topic],
            ok_actions=[topic],
            **metric_alarm_inputs(spec),
            opts=self.child_opts(),
        )

    def _backup_failures(self, name: str, prefix: str, args: AlarmsArgs, *, after: pulumi.Resource) -> None:
        """AWS Backup job failures (FAILED, ABORTED, EXPIRED) of the platform's vault, straight to a topic."""
        rule = aws.cloudwatch.EventRule(
            f"{name}-{BACKUP_FAILURE_KEY}",
            name=f"{prefix}-{BACKUP_FAILURE_KEY}",
            description=f"AWS Backup jobs of {prefix} that failed, were aborted or expired. Runbook: "
            f"{RUNBOOK}#{BACKUP_FAILURE_KEY}",
            event_pattern=pulumi.Output.json_dumps(backup_failure_pattern(args.backup_vault_name)),
            opts=self.child_opts(),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-{BACKUP_FAILURE_KEY}-target",
            rule=rule.name,
            arn=self.topics[BACKUP_FAILURE_SEVERITY].arn,
            target_id="alerts-topic",
            # The topic's policy must admit EventBridge before the first event is delivered.
            opts=self.child_opts(depends_on=[after]),
        )
