"""`ai-platform:observability`: metrics, alerting and its routing, logs and traces of the stack."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from config.addons import ChartVersion
from config.errors import FieldError
from config.types import CpuQuantity, LogRetentionDays, MemoryQuantity, Section, cpu_millicores, memory_bytes

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SLACK_CHANNEL = re.compile(r"^#[a-z0-9][a-z0-9._-]{0,79}$")
_GO_DURATION = re.compile(r"^([0-9]+h)?([0-9]+m)?$")
_RELEASE_TAG = re.compile(r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_LOAD_BALANCER_ID = re.compile(r"^[0-9a-f]{16}$")
_SMTP_USERNAME = re.compile(r"^[A-Za-z0-9._@+=-]{1,128}$")
_RUNBOOKS = re.compile(
    r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/([A-Za-z0-9_.%~-]+/)*alerts\.md$|^docs/runbooks/alerts\.md$"
)


def _check_email(address: str) -> str:
    """Allowed: an e-mail address, e.g. oncall@example.com."""
    if not _EMAIL.fullmatch(address):
        raise ValueError(f"{address!r} is not an e-mail address; allowed: e.g. oncall@example.com")
    return address


def _check_phone(number: str) -> str:
    """Allowed: a phone number in E.164 form, e.g. +14155550100."""
    if not _E164.fullmatch(number):
        raise ValueError(f"{number!r} is not an E.164 phone number; allowed: + and 7-15 digits, e.g. +14155550100")
    return number


def _check_slack_channel(channel: str) -> str:
    """Allowed: a Slack channel name with its #, lowercase, e.g. #ai-platform-alerts."""
    if not _SLACK_CHANNEL.fullmatch(channel):
        raise ValueError(f"{channel!r} is not a Slack channel; allowed: # then lowercase letters, digits, . _ -")
    return channel


def _check_interval(text: str) -> str:
    """Allowed: an Alertmanager duration in hours and minutes, e.g. 30m, 4h, 1h30m."""
    if not text or not _GO_DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration; allowed: hours and minutes, e.g. 30m, 4h, 1h30m")
    return text


def _check_image_tag(tag: str) -> str:
    """Allowed: an exact release tag v<major>.<minor>.<patch>, e.g. v0.45.1 (never latest)."""
    if not _RELEASE_TAG.fullmatch(tag):
        raise ValueError(f"{tag!r} is not an exact release tag; allowed: v<major>.<minor>.<patch>, e.g. v0.45.1")
    return tag


def _check_load_balancer_id(value: str | None) -> str | None:
    """Allowed: the 16 hexadecimal characters ending the ALB's ARN, e.g. 50dc6c495c0c9188."""
    if value is not None and not _LOAD_BALANCER_ID.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a load balancer id; allowed: the 16 hex characters ending its ARN, e.g. 50dc6c495c0c9188"
        )
    return value


def _check_runbooks_url(url: str) -> str:
    """Allowed: docs/runbooks/alerts.md, or an https URL of that file ending in alerts.md."""
    if not _RUNBOOKS.fullmatch(url):
        raise ValueError(
            f"{url!r} is not where the alert runbooks are; allowed: docs/runbooks/alerts.md or an https URL ending "
            "in alerts.md, e.g. https://github.com/example/ai-platform/blob/main/docs/runbooks/alerts.md"
        )
    return url


def _check_smtp_username(name: str) -> str:
    """Allowed: empty, or an SMTP user name (letters, digits, . _ @ + = -), e.g. the SES SMTP user name."""
    if name and not _SMTP_USERNAME.fullmatch(name):
        raise ValueError(f"{name!r} is not an SMTP user name; allowed: 1-128 letters, digits, . _ @ + = -")
    return name


Email = Annotated[str, AfterValidator(_check_email)]
PhoneNumber = Annotated[str, AfterValidator(_check_phone)]
Interval = Annotated[str, AfterValidator(_check_interval)]


class PrometheusSettings(Section):
    """Prometheus of the kube-prometheus-stack: how many, how long it keeps data, on how much gp3 storage."""

    replicas: int = Field(2, ge=1, le=3, description="Prometheus replicas; 2 is an HA pair, each scraping everything.")
    retention_days: int = Field(15, ge=1, le=365, description="Days of metrics kept on each replica's volume.")
    storage_gib: int = Field(
        100, ge=10, le=16384, description="gp3 volume per replica (retention also stops at 85% of it)."
    )
    scrape_interval_seconds: int = Field(30, ge=10, le=300, description="Default scrape and rule evaluation interval.")
    remote_write_amp: bool = Field(
        False,
        description="Also remote-write to an Amazon Managed Service for Prometheus workspace (created, with an IRSA "
        "role limited to it): long-term metrics outside the cluster.",
    )
    cpu_request: CpuQuantity = Field("500m", description="CPU request of each Prometheus replica.")
    memory_request: MemoryQuantity = Field(
        "2Gi", description="Memory request of each Prometheus replica (its working set grows with active series)."
    )
    memory_limit: MemoryQuantity = Field("4Gi", description="Memory limit of each Prometheus replica.")

    @model_validator(mode="after")
    def _check(self) -> PrometheusSettings:
        if memory_bytes(self.memory_request) > memory_bytes(self.memory_limit):
            raise FieldError(
                "memory_request", f"{self.memory_request} exceeds memory_limit {self.memory_limit}; allowed: <= it"
            )
        if cpu_millicores(self.cpu_request) <= 0:
            raise FieldError("cpu_request", f"{self.cpu_request} reserves no CPU; allowed: more than 0, e.g. 500m")
        return self


class AlertmanagerSettings(Section):
    """Alertmanager of the kube-prometheus-stack (a gossiping cluster that deduplicates notifications)."""

    replicas: int = Field(3, ge=1, le=5, description="Alertmanager replicas (3 survive the loss of one zone).")
    storage_gib: int = Field(10, ge=1, le=1024, description="gp3 volume per replica (silences, notification log).")


class GrafanaSettings(Section):
    """Grafana: dashboards from the repository, never exposed publicly (port-forward or an internal ALB)."""

    replicas: int = Field(2, ge=1, le=3, description="Grafana replicas.")


class RoutingSettings(Section):
    """Who hears about an alert: critical pages (PagerDuty, status page, SMS), warning goes to Slack, info by e-mail.

    Receiver secrets (PagerDuty routing key, Slack webhook URL, SMTP password, status-page webhook URL) live in AWS
    Secrets Manager under the stack's secrets prefix (`ai-platform/<stack>/observability/...`), synced into the
    cluster by external-secrets: never in this file, the state or a manifest."""

    pagerduty: bool = Field(True, description="Critical alerts page through PagerDuty (Events API v2 routing key).")
    status_page_webhook: bool = Field(
        False, description="Critical alerts also go to the status page's incoming webhook."
    )
    slack_channel: Annotated[str, AfterValidator(_check_slack_channel)] = Field(
        "#ai-platform-alerts", description="Slack channel for warning alerts (incoming-webhook URL from the secret)."
    )
    email_to: tuple[Email, ...] = Field((), max_length=10, description="Addresses receiving info alerts.")
    email_from: Email = Field("alerts@example.com", description="Sender of alert e-mails (a verified SES identity).")
    sms_numbers: tuple[PhoneNumber, ...] = Field(
        (), max_length=10, description="Phone numbers that also get critical CloudWatch alarms by SMS (SNS)."
    )
    repeat_interval_critical: Interval = Field("1h", description="Resend an unresolved critical alert after this.")
    repeat_interval_warning: Interval = Field("4h", description="Resend an unresolved warning alert after this.")
    repeat_interval_info: Interval = Field("24h", description="Resend an unresolved info alert after this.")
    dead_mans_switch_webhook: bool = Field(
        False,
        description="Send the always-firing Watchdog alert to a dead man's switch webhook (its URL from the secret), "
        "which alarms when the notifications stop; without it the Watchdog goes to a null receiver.",
    )
    smtp_username: Annotated[str, AfterValidator(_check_smtp_username)] = Field(
        "",
        description="User name on the region's Amazon SES SMTP endpoint (port 587, STARTTLS) for info e-mails; "
        "its password is the `smtp-password` secret. Required when email_to is set.",
    )
    runbooks_url: Annotated[str, AfterValidator(_check_runbooks_url)] = Field(
        "docs/runbooks/alerts.md",
        description="Where docs/runbooks/alerts.md is browsable (e.g. its https URL in your Git host); each alert's "
        "runbook_url is this plus #<its heading>.",
    )

    @model_validator(mode="after")
    def _check(self) -> RoutingSettings:
        if self.email_to and not self.smtp_username:
            raise FieldError(
                "smtp_username", "empty while email_to is set; allowed: the SES SMTP user name that sends the e-mails"
            )
        return self


class LogsSettings(Section):
    """Container logs shipped by Fluent Bit to CloudWatch Logs groups the program declares (KMS, retention)."""

    retention_days: LogRetentionDays = Field(365, description="Retention of the container log groups.")
    fluent_bit_chart_version: ChartVersion = Field(
        "0.2.0", description="Exact aws-for-fluent-bit chart version (https://aws.github.io/eks-charts)."
    )


class TracesSettings(Section):
    """Traces: an OpenTelemetry collector receives OTLP from the ai-api and exports to AWS X-Ray."""

    sampling_ratio: float = Field(0.05, gt=0, le=1, description="Share of traces kept (head sampling), 0-1.")
    collector_chart_version: ChartVersion = Field(
        "0.170.0",
        description="Exact opentelemetry-collector chart version (https://open-telemetry.github.io/"
        "opentelemetry-helm-charts).",
    )
    collector_image_tag: Annotated[str, AfterValidator(_check_image_tag)] = Field(
        "v0.45.1", description="AWS Distro for OpenTelemetry collector image tag (public.ecr.aws), e.g. v0.45.1."
    )
    collector_replicas: int = Field(2, ge=1, le=5, description="Collector replicas (2+ are spread over zones).")


class CloudWatchSettings(Section):
    """CloudWatch alarms and the stack's dashboard (what Prometheus cannot see: ALB, WAF, Aurora, SQS, ACM, Backup).

    Every alarm notifies the SNS topic of its severity; README "CloudWatch alarms" explains the thresholds."""

    load_balancer_id: Annotated[str | None, AfterValidator(_check_load_balancer_id)] = Field(
        None,
        description="Id of the ai-api ALB: the last part of its ARN (`loadbalancer/app/<name>/<id>`), known after the "
        "first deployment. Unset: no ALB alarms or dashboard widgets (the AWS Load Balancer Controller, not Pulumi, "
        "creates the ALB).",
    )
    waf_blocked_requests: int = Field(
        1000, ge=1, le=100_000_000, description="WAF blocked requests per 5 minutes that count as a spike."
    )
    database_max_connections: int | None = Field(
        None,
        ge=1,
        le=262_143,
        description="The writer's max_connections (`SHOW max_connections`); unset: derived from the instance class "
        "or the Serverless v2 maximum ACUs with Aurora's default formula. The alarm fires at 80% of it.",
    )


class ObservabilityConfig(Section):
    """`ai-platform:observability`: Prometheus, Alertmanager and Grafana (kube-prometheus-stack), alert rules and
    routing, CloudWatch alarms and dashboards, container logs (Fluent Bit) and traces (OpenTelemetry, X-Ray)."""

    enabled: bool = Field(True, description="Deploy the observability stack (the release analyses need it).")
    kube_prometheus_stack_version: ChartVersion = Field(
        "88.5.3", description="Exact kube-prometheus-stack chart version (prometheus-community)."
    )
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings, description="Prometheus.")
    alertmanager: AlertmanagerSettings = Field(default_factory=AlertmanagerSettings, description="Alertmanager.")
    grafana: GrafanaSettings = Field(default_factory=GrafanaSettings, description="Grafana.")
    routing: RoutingSettings = Field(default_factory=RoutingSettings, description="Alert routing.")
    logs: LogsSettings = Field(default_factory=LogsSettings, description="Container logs.")
    traces: TracesSettings = Field(default_factory=TracesSettings, description="Traces.")
    cloudwatch: CloudWatchSettings = Field(default_factory=CloudWatchSettings, description="CloudWatch alarms.")
