"""The CloudWatch alarms of a stack, as data: what each watches, when it fires, how loud, and where it is documented.

Pure builders (no resources): `Alarms` turns the specs into `aws.cloudwatch.MetricAlarm`s and dashboard widgets.

Every metric below was checked against the AWS page that defines it (namespace, metric name, dimensions):

| Namespace | Metric | Dimensions | Page |
|---|---|---|---|
| AWS/ApplicationELB | HTTPCode_ELB_5XX_Count, HTTPCode_Target_5XX_Count, RequestCount | LoadBalancer | [ALB] |
| AWS/ApplicationELB | UnHealthyHostCount | LoadBalancer, TargetGroup | [ALB] |
| AWS/WAFV2 | BlockedRequests | WebACL, Region, Rule (ALL: the whole web ACL) | [WAF] |
| AWS/RDS | CPUUtilization, DatabaseConnections, Deadlocks | DBClusterIdentifier, Role (WRITER/READER) | [AURORA] |
| AWS/RDS | FreeableMemory, FreeLocalStorage (provisioned only) | DBClusterIdentifier, Role | [AURORA] |
| AWS/RDS | ACUUtilization, ServerlessDatabaseCapacity (Serverless v2) | DBClusterIdentifier, Role | [AURORA] |
| AWS/RDS | AuroraReplicaLag (readers only) | DBClusterIdentifier, Role=READER | [AURORA] |
| AWS/SQS | ApproximateAgeOfOldestMessage | QueueName | [SQS] |
| AWS/CertificateManager | DaysToExpiry | CertificateArn | [ACM] |
| AWS/Route53 | HealthCheckStatus (us-east-1 only) | HealthCheckId | [ROUTE53] |
| AWS/S3 | ReplicationLatency, OperationsFailedReplication | SourceBucket, DestinationBucket, RuleId | [S3_CRR] |
| AWS/RDS | AuroraGlobalDBReplicationLag, AuroraGlobalDBRPOLag (secondary cluster) | DBClusterIdentifier | [AURORA] |
| ai-platform/dr | DrillSucceeded, DrillAgeHours (`ops dr drill`, `ops dr status --publish`) | Stack | [DR_DRILL] |

Role metrics, not per-instance ones: AWS recommends them for Aurora alarms because instances change roles on
failover ([AURORA_ALARMS]). The ALB's unhealthy-target alarm is a Metrics Insights query ([MI], [MI_ALARMS]): the
controller names target groups itself, and `WHERE LoadBalancer = '...'` covers all of them (stable and canary).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from lib.dr_names import DRILL_AGE_METRIC, DRILL_METRIC_NAMESPACE, DRILL_SUCCEEDED_METRIC

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
RUNBOOK = "docs/runbooks/alarms.md"

DOCS = {
    "ALB": "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html",
    "WAF": "https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html",
    "AURORA": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.AuroraMonitoring.Metrics.html",
    "AURORA_DIMENSIONS": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/dimensions.html",
    "AURORA_ALARMS": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/creating_alarms.html",
    "SQS": "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
    "sqs-available-cloudwatch-metrics.html",
    "ACM": "https://docs.aws.amazon.com/acm/latest/userguide/cloudwatch-metrics.html",
    "MI": "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-querylanguage.html",
    "MI_ALARMS": "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-alarms.html",
    "BACKUP_EVENTS": "https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html",
    "ROUTE53": "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html",
    "S3_CRR": "https://docs.aws.amazon.com/AmazonS3/latest/userguide/repl-metrics.html",
    # The project's own metrics: defined by the command that publishes them.
    "DR_DRILL": "docs/runbooks/dr.md#drill",
}
# Route 53 publishes its health-check metrics in this region only.
ROUTE53_METRICS_REGION = "us-east-1"
# (namespace, metric) -> the page defining it: every metric an alarm or a widget uses must be listed here.
METRIC_DOCS: dict[tuple[str, str], str] = {
    **{("AWS/ApplicationELB", m): DOCS["ALB"] for m in (
        "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "RequestCount", "UnHealthyHostCount",
        "TargetResponseTime",
    )},
    **{("AWS/WAFV2", m): DOCS["WAF"] for m in ("BlockedRequests", "AllowedRequests")},
    **{("AWS/RDS", m): DOCS["AURORA"] for m in (
        "CPUUtilization", "DatabaseConnections", "Deadlocks", "FreeableMemory", "FreeLocalStorage", "ACUUtilization",
        "ServerlessDatabaseCapacity", "AuroraReplicaLag",
    )},
    **{("AWS/RDS", m): DOCS["AURORA"] for m in ("AuroraGlobalDBReplicationLag", "AuroraGlobalDBRPOLag")},
    **{("AWS/S3", m): DOCS["S3_CRR"] for m in ("ReplicationLatency", "OperationsFailedReplication")},
    ("AWS/SQS", "ApproximateAgeOfOldestMessage"): DOCS["SQS"],
    ("AWS/CertificateManager", "DaysToExpiry"): DOCS["ACM"],
    ("AWS/Route53", "HealthCheckStatus"): DOCS["ROUTE53"],
    **{(DRILL_METRIC_NAMESPACE, m): DOCS["DR_DRILL"] for m in (DRILL_SUCCEEDED_METRIC, DRILL_AGE_METRIC)},
}  # fmt: skip

GIB = 1024**3
# Aurora PostgreSQL's default max_connections: LEAST({DBInstanceClassMemory/9531392}, 5000) (Aurora user guide,
# "Maximum connections to an Aurora PostgreSQL DB instance"); an ACU is about 2 GiB of memory.
MAX_CONNECTIONS_DIVISOR = 9531392
MAX_CONNECTIONS_CAP = 5000
GIB_PER_ACU = 2
CONNECTIONS_ALARM_SHARE = 0.8
# An ALB 5xx rate is only meaningful with traffic: below this many requests a minute the alarm stays quiet.
MIN_REQUESTS_PER_MINUTE = 20
ALB_5XX_PERCENT = 5


@dataclass(frozen=True)
class Metric:
    """One CloudWatch metric with its dimensions and the statistic read from it."""

    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    stat: str


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: a single `metric`, or an `expression` (metric math over `inputs`, or a Metrics Insights query).

    `key` names the alarm (`<prefix>-<key>`) and its runbook heading (`docs/runbooks/alarms.md#<key>`)."""

    key: str
    severity: Severity
    summary: str
    comparison: str
    threshold: float
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: Literal["missing", "notBreaching", "breaching", "ignore"]
    metric: Metric | None = None
    expression: str | None = None
    inputs: Mapping[str, Metric] = field(default_factory=dict)

    @property
    def runbook(self) -> str:
        return f"{RUNBOOK}#{self.key}"

    def description(self) -> str:
        """The alarm's description: severity, what it means, and where to look first."""
        return f"[{self.severity}] {self.summary} Runbook: {self.runbook}"


# --- the ALB -------------------------------------------------------------------------------------------------------


def load_balancer_dimension(name: str, load_balancer_id: str) -> str:
    """The `LoadBalancer` dimension value of an ALB: the end of its ARN, `app/<name>/<id>`."""
    return f"app/{name}/{load_balancer_id}"


def unhealthy_targets_query(load_balancer: str) -> str:
    """Metrics Insights (not SQL): the worst unhealthy-target count over every target group of the ALB; the value is
    its `app/<name>/<id>` (letters, digits, - and a hex id: nothing to escape)."""
    schema = 'SCHEMA("AWS/ApplicationELB", LoadBalancer, TargetGroup)'
    return f"SELECT MAX(UnHealthyHostCount) FROM {schema} WHERE LoadBalancer = '{load_balancer}'"  # noqa: S608


def alb_alarms(load_balancer: str) -> list[AlarmSpec]:
    """5xx share of requests (load balancer and targets together) and unhealthy targets in any target group."""
    dims = {"LoadBalancer": load_balancer}
    alb = "AWS/ApplicationELB"
    rate = (
        f"IF(FILL(requests, 0) >= {MIN_REQUESTS_PER_MINUTE}, "
        "100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)"
    )
    return [
        AlarmSpec(
            key="alb-5xx-rate",
            severity="critical",
            summary=f"More than {ALB_5XX_PERCENT}% of ai-api requests fail with a 5xx (load balancer or pods) in 3 "
            f"of the last 5 minutes.",
            comparison="GreaterThanThreshold",
            threshold=ALB_5XX_PERCENT,
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            treat_missing_data="notBreaching",  # no traffic, no errors: the counts are simply not reported
            expression=rate,
            inputs={
                "elb5xx": Metric(alb, "HTTPCode_ELB_5XX_Count", dims, "Sum"),
                "target5xx": Metric(alb, "HTTPCode_Target_5XX_Count", dims, "Sum"),
                "requests": Metric(alb, "RequestCount", dims, "Sum"),
            },
        ),
        AlarmSpec(
            key="alb-unhealthy-targets",
            severity="warning",
            summary="An ai-api target has failed the ALB health check for 5 minutes.",
            comparison="GreaterThanThreshold",
            threshold=0,
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=5,
            treat_missing_data="notBreaching",  # no target group reporting: nothing unhealthy to count
            expression=unhealthy_targets_query(load_balancer),
        ),
    ]


# --- WAF -------------------------------------------------------------------------------------------------------------


def waf_alarms(web_acl_name: pulumi.Input[str], region: str, blocked_per_5min: int) -> list[AlarmSpec]:
    """A spike of requests the web ACL blocks (any rule): an attack, or a rule blocking legitimate clients."""
    dims = {"WebACL": web_acl_name, "Region": region, "Rule": "ALL"}
    return [
        AlarmSpec(
            key="waf-blocked-spike",
            severity="warning",
            summary=f"The ai-api web ACL blocked more than {blocked_per_5min} requests in 5 minutes, twice in 15.",
            comparison="GreaterThanThreshold",
            threshold=blocked_per_5min,
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data="notBreaching",  # WAF reports nothing while nothing is blocked
            metric=Metric("AWS/WAFV2", "BlockedRequests", dims, "Sum"),
        )
    ]


# --- Aurora ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseFacts:
    """What the database alarms are sized from (Database outputs, plus the optional max_connections setting)."""

    cluster_identifier: pulumi.Input[str]
    instance_class: str
    serverless_max_capacity: float | None
    reader_count: int
    max_connections: int | None = None
    instance_count: int | None = None  # None: a writer and `reader_count` readers; 0: headless (nothing to watch)


# Memory per vCPU of the Aurora PostgreSQL instance families, and vCPUs per size ("Hardware specifications for DB
# instance classes for Aurora"); burstable classes are listed whole.
_MEMORY_PER_VCPU_GIB = {"r": 8, "x2g": 16}
_BURSTABLE_GIB = {"medium": 4, "large": 8}
_CLASS = re.compile(r"db\.(?P<family>r[0-9][a-z]*|x2g|t[34]g?)\.(?P<size>medium|large|(?P<n>[0-9]*)xlarge)")


def instance_memory_gib(instance_class: str, serverless_max_capacity: float | None) -> float:
    """Memory of one instance: 2 GiB per maximum ACU for Serverless v2, else the class's memory.

    Raises ValueError (what is wrong; allowed: ...) for a class outside the Aurora PostgreSQL families: the
    thresholds need its memory."""
    if serverless_max_capacity is not None:
        return serverless_max_capacity * GIB_PER_ACU
    match = _CLASS.fullmatch(instance_class)
    if match is not None:
        family, size = match["family"], match["size"]
        if family.startswith("t"):
            if size in _BURSTABLE_GIB:
                return _BURSTABLE_GIB[size]
        elif size != "medium":
            vcpus = 2 if size == "large" else 4 * int(match["n"] or 1)
            return vcpus * _MEMORY_PER_VCPU_GIB["x2g" if family == "x2g" else "r"]
    raise ValueError(
        f"{instance_class} is not an Aurora PostgreSQL class the CloudWatch alarms know the memory of; allowed: "
        "db.serverless, db.<r5|r6g|r6i|r7g|r7i|r8g|x2g>.<size>, db.<t3|t4g>.<medium|large>"
    )


def default_max_connections(memory_gib: float) -> int:
    """Aurora PostgreSQL's default max_connections for an instance of `memory_gib` (nominal memory: a little above
    what the formula's DBInstanceClassMemory sees, so set `database_max_connections` for an exact figure)."""
    return min(int(memory_gib * GIB // MAX_CONNECTIONS_DIVISOR), MAX_CONNECTIONS_CAP)


def database_alarms(db: DatabaseFacts) -> list[AlarmSpec]:
    """Writer (and reader) CPU, memory or capacity, local storage, replica lag, deadlocks and connections; none
    for a headless cluster (no instance reports anything)."""
    if db.instance_count == 0:
        return []
    memory = instance_memory_gib(db.instance_class, db.serverless_max_capacity)
    max_connections = db.max_connections or default_max_connections(memory)

    def rds(name: str, role: str, stat: str) -> Metric:
        return Metric("AWS/RDS", name, {"DBClusterIdentifier": db.cluster_identifier, "Role": role}, stat)

    def sustained(key: str, summary: str, metric: Metric, comparison: str, threshold: float) -> AlarmSpec:
        """An instance gauge (reported every minute) past its threshold for 10 of the last 15 minutes; missing data
        (a paused Serverless v2 cluster) leaves the alarm where it is."""
        return AlarmSpec(key, "warning", summary, comparison, threshold, 60, 15, 10, "missing", metric=metric)

    roles = ["WRITER", "READER"] if db.reader_count else ["WRITER"]
    specs = [
        sustained(
            f"db-{role.lower()}-cpu",
            f"The Aurora {role.lower()} CPU is above 80% for 10 of 15 minutes.",
            rds("CPUUtilization", role, "Average"),
            "GreaterThanThreshold",
            80,
        )
        for role in roles
    ]
    if db.serverless_max_capacity is not None:
        specs += [
            sustained(
                f"db-{role.lower()}-acu",
                f"The Aurora {role.lower()} runs above 90% of its maximum capacity "
                f"({db.serverless_max_capacity:g} ACUs) for 10 of 15 minutes.",
                rds("ACUUtilization", role, "Maximum"),
                "GreaterThanThreshold",
                90,
            )
            for role in roles
        ]
    else:
        specs += [
            sustained(
                f"db-{role.lower()}-memory",
                f"The Aurora {role.lower()} has less than 10% of its {memory:g} GiB memory free for 10 of 15 minutes.",
                rds("FreeableMemory", role, "Minimum"),
                "LessThanThreshold",
                memory * GIB * 0.1,
            )
            for role in roles
        ]
        specs += [
            sustained(
                f"db-{role.lower()}-local-storage",
                f"The Aurora {role.lower()} has less than 2 GiB of local storage (temporary files, logs) left.",
                rds("FreeLocalStorage", role, "Minimum"),
                "LessThanThreshold",
                2 * GIB,
            )
            for role in roles
        ]
    if db.reader_count:
        specs.append(
            sustained(
                "db-replica-lag",
                "An Aurora reader lags the writer by more than 1 second for 10 of 15 minutes (stale reads).",
                rds("AuroraReplicaLag", "READER", "Maximum"),
                "GreaterThanThreshold",
                1000,
            )
        )
    specs += [
        sustained(
            "db-connections",
            f"The Aurora writer holds more than {int(CONNECTIONS_ALARM_SHARE * 100)}% of its {max_connections} "
            f"connections for 10 of 15 minutes.",
            rds("DatabaseConnections", "WRITER", "Maximum"),
            "GreaterThanThreshold",
            int(max_connections * CONNECTIONS_ALARM_SHARE),
        ),
        AlarmSpec(
            key="db-deadlocks",
            severity="warning",
            summary="The Aurora writer reports deadlocks in 2 of the last 3 five-minute periods.",
            comparison="GreaterThanThreshold",
            threshold=0,
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data="notBreaching",  # a paused or idle writer has no deadlocks
            metric=rds("Deadlocks", "WRITER", "Average"),
        ),
    ]
    return specs


# --- disaster recovery: S3 cross-region replication, Aurora Global Database ----------------------------------------

# Replication Time Control replicates 99.99% of objects within 15 minutes: later than that, RTC is missed.
REPLICATION_LATENCY_SECONDS = 900
# Aurora Global Database's typical lag is under a second: 1 s sustained means the secondary falls behind.
GLOBAL_LAG_MS = 1000
# The recovery point a failover would lose: a minute of writes is the most the RPO lag may say, for 3 minutes.
GLOBAL_RPO_LAG_MS = 60_000


@dataclass(frozen=True)
class ReplicatedBucketMetric:
    """The dimensions S3 reports a replication rule's metrics under."""

    source_bucket: pulumi.Input[str]
    destination_bucket: pulumi.Input[str]
    rule_id: str


def replication_alarms(buckets: Mapping[str, ReplicatedBucketMetric]) -> list[AlarmSpec]:
    """The slowest replication (ReplicationLatency) beyond the RTC threshold, and any failed replication
    (OperationsFailedReplication), over every replicated bucket (metric math over one metric per bucket). S3
    reports them in the source buckets' region, only while replication metrics are enabled on the rule."""

    def per_bucket(metric: str, stat: str) -> dict[str, Metric]:
        return {
            f"b{index}": Metric(
                "AWS/S3", metric,
                {"SourceBucket": b.source_bucket, "DestinationBucket": b.destination_bucket, "RuleId": b.rule_id},
                stat,
            )
            for index, b in enumerate(buckets[key] for key in sorted(buckets))
        }  # fmt: skip

    return [
        AlarmSpec(
            key="s3-replication-latency",
            severity="warning",
            summary=f"Objects reach a DR replica bucket more than {REPLICATION_LATENCY_SECONDS // 60} minutes after "
            f"they were written (the Replication Time Control target), 3 of the last 5 minutes.",
            comparison="GreaterThanThreshold",
            threshold=REPLICATION_LATENCY_SECONDS,
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            treat_missing_data="notBreaching",  # nothing written, nothing replicated: no datapoint
            expression="MAX(METRICS())",
            inputs=per_bucket("ReplicationLatency", "Maximum"),
        ),
        AlarmSpec(
            key="s3-replication-failed",
            severity="critical",
            summary="S3 failed to replicate objects into a DR replica bucket in 2 of the last 3 five-minute periods "
            "(the DR copy of the data is incomplete).",
            comparison="GreaterThanThreshold",
            threshold=0,
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data="notBreaching",
            expression="SUM(METRICS())",
            inputs=per_bucket("OperationsFailedReplication", "Sum"),
        ),
    ]


def global_database_alarms(secondary_cluster_identifier: pulumi.Input[str]) -> list[AlarmSpec]:
    """Aurora Global Database lag as the secondary cluster reports it (in its own region): replication lag above a
    second, and the recovery point a failover would lose (RPO lag) above a minute."""

    def secondary(metric: str) -> Metric:
        return Metric("AWS/RDS", metric, {"DBClusterIdentifier": secondary_cluster_identifier}, "Maximum")

    return [
        AlarmSpec(
            key="db-global-replication-lag",
            severity="warning",
            summary=f"The Aurora Global secondary lags the primary by more than {GLOBAL_LAG_MS} ms for 10 of 15 "
            f"minutes (a failover would lose more than the expected second of writes).",
            comparison="GreaterThanThreshold",
            threshold=GLOBAL_LAG_MS,
            period=60,
            evaluation_periods=15,
            datapoints_to_alarm=10,
            treat_missing_data="missing",
            metric=secondary("AuroraGlobalDBReplicationLag"),
        ),
        AlarmSpec(
            key="db-global-rpo-lag",
            severity="critical",
            summary=f"The Aurora Global secondary's recovery point is more than {GLOBAL_RPO_LAG_MS // 1000} s "
            f"behind the primary for 3 of 5 minutes: a failover now would lose that much data.",
            comparison="GreaterThanThreshold",
            threshold=GLOBAL_RPO_LAG_MS,
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            treat_missing_data="missing",
            metric=secondary("AuroraGlobalDBRPOLag"),
        ),
    ]


# --- Karpenter's interruption queue, the certificate -------------------------------------------------------------


# A drill is monthly: overdue once the last successful one is 35 days old (a month and a few days of grace).
DRILL_OVERDUE_HOURS = 35 * 24
DAY_SECONDS = 86400


def drill_alarms(stack: str) -> list[AlarmSpec]:
    """The restore drill (`python -m ops dr drill`, monthly in CI) failed, or none succeeded for 35 days (the daily
    `ops dr status --publish` keeps the age current; a day without it counts as overdue)."""

    def drill(metric: str, statistic: str) -> Metric:
        return Metric(DRILL_METRIC_NAMESPACE, metric, {"Stack": stack}, statistic)

    return [
        AlarmSpec(
            key="dr-drill-failed",
            severity="warning",
            summary="The last restore drill failed its integrity check or did not become usable: a restore today "
            "may fail the same way.",
            comparison="LessThanThreshold",
            threshold=1,
            period=DAY_SECONDS,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data="notBreaching",  # no drill that day: the overdue alarm watches the gaps
            metric=drill(DRILL_SUCCEEDED_METRIC, "Minimum"),
        ),
        AlarmSpec(
            key="dr-drill-overdue",
            severity="warning",
            summary=f"No restore drill has succeeded for {DRILL_OVERDUE_HOURS // 24} days (or nothing reports the "
            "drill age): the recovery procedure is untested.",
            comparison="GreaterThanThreshold",
            threshold=DRILL_OVERDUE_HOURS,
            period=DAY_SECONDS,  # a day is also the longest window CloudWatch evaluates (period x periods)
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data="breaching",
            metric=drill(DRILL_AGE_METRIC, "Maximum"),
        ),
    ]


def queue_alarms(queue_name: pulumi.Input[str]) -> list[AlarmSpec]:
    """Karpenter not draining its interruption queue: spot interruptions and rebalances go unhandled."""
    return [
        AlarmSpec(
            key="karpenter-interruption-queue-age",
            severity="warning",
            summary="Karpenter leaves interruption messages unread for over a minute, 5 minutes in a row.",
            comparison="GreaterThanThreshold",
            threshold=60,
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=5,
            treat_missing_data="notBreaching",  # SQS stops reporting an idle queue
            metric=Metric("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": queue_name}, "Maximum"),
        )
    ]


def certificate_alarms(certificate_arn: pulumi.Input[str]) -> list[AlarmSpec]:
    """The certificate the ai-api's ALB serves nears expiry: ACM renewal failed (its validation record is gone) or
    an imported certificate (`api.certificate_arn`) was not replaced."""
    metric = Metric("AWS/CertificateManager", "DaysToExpiry", {"CertificateArn": certificate_arn}, "Minimum")

    def expiring(key: str, severity: Severity, days: int) -> AlarmSpec:
        # ACM publishes the metric once a day; a day without it keeps the alarm's state.
        return AlarmSpec(
            key, severity, f"The ai-api certificate expires in less than {days} days.", "LessThanThreshold",
            days, 86400, 1, 1, "missing", metric=metric,
        )  # fmt: skip

    return [expiring("acm-expiry-30-days", "warning", 30), expiring("acm-expiry-7-days", "critical", 7)]


def health_check_alarms(health_check_id: pulumi.Input[str]) -> list[AlarmSpec]:
    """The Route 53 health check of the ai-api's primary failover record fails: the primary region's API is down
    (or unreachable from the internet) and Route 53 now answers with the standby region."""
    return [
        AlarmSpec(
            key="api-health-check",
            severity="critical",
            summary="Route 53 finds the ai-api's primary region unhealthy and fails its name over to the standby.",
            comparison="LessThanThreshold",
            threshold=1,
            period=60,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data="missing",  # Route 53 reports every minute; a gap keeps the alarm's state
            metric=Metric("AWS/Route53", "HealthCheckStatus", {"HealthCheckId": health_check_id}, "Minimum"),
        )
    ]


# --- AWS Backup job failures (an EventBridge rule, not an alarm) -------------------------------------------------

BACKUP_FAILURE_KEY = "backup-job-failed"
BACKUP_FAILURE_SEVERITY: Severity = "warning"
BACKUP_FAILED_STATES = ("FAILED", "ABORTED", "EXPIRED")


def backup_failure_pattern(vault_name: pulumi.Input[str]) -> dict[str, object]:
    """EventBridge pattern: a backup job of this vault ended FAILED, ABORTED or EXPIRED (never started in its
    window). Fields per AWS Backup's "Backup Job State Change" events ([BACKUP_EVENTS])."""
    return {
        "source": ["aws.backup"],
        "detail-type": ["Backup Job State Change"],
        "detail": {"state": list(BACKUP_FAILED_STATES), "backupVaultName": [vault_name]},
    }


# --- the dashboard -----------------------------------------------------------------------------------------------

DASHBOARD_COLUMNS = 24  # the CloudWatch dashboard grid is 24 columns wide
WIDGET_WIDTH, WIDGET_HEIGHT = 12, 6


def _metric_row(metric: Metric, options: Mapping[str, object]) -> list[object]:
    """A dashboard `metrics` array entry: namespace, name, dimension name/value pairs, then rendering options."""
    row: list[object] = [metric.namespace, metric.name]
    for dimension, value in metric.dimensions.items():
        row += [dimension, value]
    return [*row, dict(options)]


def alarm_widget_metrics(spec: AlarmSpec) -> list[list[object]]:
    """What an alarm's widget plots: its metric, or its expression (its inputs hidden)."""
    if spec.metric is not None:
        return [_metric_row(spec.metric, {"stat": spec.metric.stat, "label": spec.key})]
    rows: list[list[object]] = [[{"expression": spec.expression, "id": "result", "label": spec.key}]]
    rows += [_metric_row(m, {"stat": m.stat, "id": key, "visible": False}) for key, m in spec.inputs.items()]
    return rows


def dashboard_body(specs: list[AlarmSpec], region: str, runbook: str) -> dict[str, object]:
    """The stack's dashboard (CloudWatch dashboard body structure): a text header, then one time-series widget per
    alarm with its threshold drawn, two per row."""
    widgets: list[dict[str, object]] = [
        {
            "type": "text",
            "x": 0,
            "y": 0,
            "width": DASHBOARD_COLUMNS,
            "height": 2,
            "properties": {
                "markdown": f"## CloudWatch alarms\nOne graph per alarm, its threshold as a line. What to do when one "
                f"fires: `{runbook}` in the ai-platform repository."
            },
        }
    ]
    for index, spec in enumerate(specs):
        widgets.append(
            {
                "type": "metric",
                "x": (index % 2) * WIDGET_WIDTH,
                "y": 2 + (index // 2) * WIDGET_HEIGHT,
                "width": WIDGET_WIDTH,
                "height": WIDGET_HEIGHT,
                "properties": {
                    "title": f"{spec.key} ({spec.severity})",
                    "view": "timeSeries",
                    "region": region,
                    "period": spec.period,
                    "metrics": alarm_widget_metrics(spec),
                    "annotations": {"horizontal": [{"label": "alarm threshold", "value": spec.threshold}]},
                },
            }
        )
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": widgets}
