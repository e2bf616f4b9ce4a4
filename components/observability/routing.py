"""Alertmanager's routing, receivers and inhibition, as data (the kube-prometheus-stack's `alertmanager.config`).

Severity decides who hears: critical pages through PagerDuty (and the status page's webhook when configured),
warning goes to Slack, info by e-mail (to Slack when no address is configured). Alerts group by alertname,
namespace and service; a critical alert silences the warning of the same alertname and namespace (and either
silences the info). The always-firing `Watchdog` goes to a dead man's switch webhook when configured, else to
the `null` receiver.

Receiver secrets (PagerDuty routing key, Slack webhook URL, SMTP password, status-page and dead man's switch URLs)
are never in this configuration: external-secrets syncs them from Secrets Manager into one Kubernetes Secret
(`RECEIVERS_SECRET`), the Alertmanager pods mount it (`alertmanagerSpec.secrets`) under `SECRETS_DIR`, and the
configuration names the files (`routing_key_file`, `api_url_file`, `auth_password_file`, `url_file`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.observability import RoutingSettings

# The Kubernetes Secret holding the receivers' secrets in the monitoring namespace, and where the Prometheus
# Operator mounts each of `alertmanagerSpec.secrets` in the Alertmanager container.
RECEIVERS_SECRET = "alertmanager-receivers"  # noqa: S105 - a Secret's name, not a password
SECRETS_DIR = "/etc/alertmanager/secrets"
NULL_RECEIVER = "null"
# Alerts that exist to prove the pipeline works, never to be read: ours, and the chart's default InfoInhibitor.
HEARTBEAT_ALERT = "Watchdog"
SILENT_ALERTS = ("InfoInhibitor",)
GROUP_BY = ("alertname", "namespace", "service")
GROUP_WAIT = "30s"
GROUP_INTERVAL = "5m"


@dataclass(frozen=True)
class ReceiverSecret:
    """One receiver secret: its key in the Kubernetes Secret and the Secrets Manager secret it comes from
    (`<prefix>observability/<key>`, a plain string)."""

    key: str
    purpose: str


PAGERDUTY_KEY = ReceiverSecret("pagerduty-routing-key", "PagerDuty Events API v2 integration (routing) key")
SLACK_URL = ReceiverSecret("slack-webhook-url", "Slack incoming-webhook URL of the warning channel")
SMTP_PASSWORD = ReceiverSecret("smtp-password", "SMTP password of `routing.smtp_username` (SES SMTP credentials)")
STATUS_PAGE_URL = ReceiverSecret("status-page-webhook-url", "status page's incoming webhook URL (critical alerts)")
DEAD_MANS_SWITCH_URL = ReceiverSecret("dead-mans-switch-url", "dead man's switch webhook URL (the Watchdog)")


def receiver_secrets(routing: RoutingSettings) -> tuple[ReceiverSecret, ...]:
    """The secrets the configured receivers need, in a stable order (Slack always: warnings go there)."""
    wanted = [
        (routing.pagerduty, PAGERDUTY_KEY),
        (True, SLACK_URL),
        (bool(routing.email_to), SMTP_PASSWORD),
        (routing.status_page_webhook, STATUS_PAGE_URL),
        (routing.dead_mans_switch_webhook, DEAD_MANS_SWITCH_URL),
    ]
    return tuple(secret for enabled, secret in wanted if enabled)


def secret_file(secret: ReceiverSecret, secrets_dir: str = SECRETS_DIR) -> str:
    """Where Alertmanager reads a receiver secret."""
    return f"{secrets_dir}/{RECEIVERS_SECRET}/{secret.key}"


def _receivers(routing: RoutingSettings, region: str, dns_suffix: str, secrets_dir: str) -> dict[str, dict[str, Any]]:
    """Receiver name -> its definition, for the receivers the settings enable (`null` always)."""
    receivers: dict[str, dict[str, Any]] = {NULL_RECEIVER: {"name": NULL_RECEIVER}}
    if routing.pagerduty:
        receivers["pagerduty"] = {
            "name": "pagerduty",
            "pagerduty_configs": [
                {
                    "routing_key_file": secret_file(PAGERDUTY_KEY, secrets_dir),
                    "severity": "critical",
                    "send_resolved": True,
                }
            ],
        }
    if routing.status_page_webhook:
        receivers["status-page"] = {
            "name": "status-page",
            "webhook_configs": [{"url_file": secret_file(STATUS_PAGE_URL, secrets_dir), "send_resolved": True}],
        }
    receivers["slack"] = {
        "name": "slack",
        "slack_configs": [
            {
                "api_url_file": secret_file(SLACK_URL, secrets_dir),
                "channel": routing.slack_channel,
                "send_resolved": True,
                "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
                "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n"
                "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}",
            }
        ],
    }
    if routing.email_to:
        receivers["email"] = {
            "name": "email",
            "email_configs": [
                {
                    "to": ", ".join(routing.email_to),
                    "from": routing.email_from,
                    "smarthost": f"email-smtp.{region}.{dns_suffix}:587",
                    "auth_username": routing.smtp_username,
                    "auth_password_file": secret_file(SMTP_PASSWORD, secrets_dir),
                    "require_tls": True,
                    "send_resolved": True,
                }
            ],
        }
    if routing.dead_mans_switch_webhook:
        receivers["dead-mans-switch"] = {
            "name": "dead-mans-switch",
            "webhook_configs": [{"url_file": secret_file(DEAD_MANS_SWITCH_URL, secrets_dir), "send_resolved": False}],
        }
    return receivers


def severity_receivers(routing: RoutingSettings) -> dict[str, tuple[str, ...]]:
    """Severity -> the receivers an alert of that severity reaches (the README's severity matrix)."""
    critical = tuple(
        name for enabled, name in ((routing.pagerduty, "pagerduty"), (routing.status_page_webhook, "status-page"))
        if enabled
    )  # fmt: skip
    return {
        "critical": critical or ("slack",),
        "warning": ("slack",),
        "info": ("email",) if routing.email_to else ("slack",),
    }


def _route(routing: RoutingSettings) -> dict[str, Any]:
    """The routing tree: heartbeats first, then one route per (severity, receiver); Slack catches the rest."""
    repeat = {
        "critical": routing.repeat_interval_critical,
        "warning": routing.repeat_interval_warning,
        "info": routing.repeat_interval_info,
    }
    heartbeat = "dead-mans-switch" if routing.dead_mans_switch_webhook else NULL_RECEIVER
    routes: list[dict[str, Any]] = [
        # A dead man's switch expects the heartbeat often: resend it every minute through a group of its own.
        {
            "receiver": heartbeat,
            "matchers": [f'alertname="{HEARTBEAT_ALERT}"'],
            "group_wait": "0s",
            "group_interval": "1m",
            "repeat_interval": "1m",
        },
        *({"receiver": NULL_RECEIVER, "matchers": [f'alertname="{name}"']} for name in SILENT_ALERTS),
    ]
    for severity, receivers in severity_receivers(routing).items():
        for position, receiver in enumerate(receivers):
            routes.append(
                {
                    "receiver": receiver,
                    "matchers": [f'severity="{severity}"'],
                    "repeat_interval": repeat[severity],
                    # Every receiver of a severity but the last lets the alert go on to the next one.
                    "continue": position < len(receivers) - 1,
                }
            )
    return {
        "receiver": "slack",
        "group_by": list(GROUP_BY),
        "group_wait": GROUP_WAIT,
        "group_interval": GROUP_INTERVAL,
        "repeat_interval": routing.repeat_interval_warning,
        "routes": routes,
    }


def inhibit_rules() -> list[dict[str, Any]]:
    """A critical alert silences the warning and info of the same alertname and namespace; a warning the info."""
    return [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["alertname", "namespace"],
        },
        {
            "source_matchers": ['severity="warning"'],
            "target_matchers": ['severity="info"'],
            "equal": ["alertname", "namespace"],
        },
    ]


def alertmanager_config(
    routing: RoutingSettings, region: str, dns_suffix: str = "amazonaws.com", secrets_dir: str = SECRETS_DIR
) -> dict[str, Any]:
    """The whole Alertmanager configuration (`alertmanager.yaml`); secrets only as file paths under `secrets_dir`."""
    receivers = _receivers(routing, region, dns_suffix, secrets_dir)
    return {
        "global": {"resolve_timeout": "5m"},
        "route": _route(routing),
        "inhibit_rules": inhibit_rules(),
        "receivers": list(receivers.values()),
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }


def silent_config() -> dict[str, Any]:
    """The configuration of a stack whose receivers' secrets cannot be synced (no ClusterSecretStore): every alert
    goes to `null`, and the Alertmanager UI still shows them."""
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {"receiver": NULL_RECEIVER, "group_by": list(GROUP_BY)},
        "inhibit_rules": inhibit_rules(),
        "receivers": [{"name": NULL_RECEIVER}],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }
