"""The platform's alert and recording rules, as data.

Each rule group becomes one `PrometheusRule` object (`alerting.py`) and one group of a Prometheus rule file; the
same rendering feeds `promtool check rules` and `promtool test rules` in the tests, so what is tested is what is
deployed. Every alert carries a `severity` label (critical pages, warning goes to Slack, info by e-mail: see
`routing.py`), a `summary` and a `description` annotation, and a `runbook_url` pointing at its heading in
`docs/runbooks/alerts.md`.

Sources of the metrics: the ai-api itself (`http_requests_total` with its `code` label and the
`http_request_duration_seconds` histogram, the names the release analysis queries, from `ai-platform:api.analysis`),
kube-state-metrics, the kubelet (cAdvisor, volume stats), node-exporter, Karpenter 1.8, external-secrets 1.3 and
Argo Rollouts 1.8. The database's storage and connections are CloudWatch metrics Prometheus does not see: the
`Alarms` component covers Aurora, as it covers the ALB's ACM certificate expiry.

To add an alert: append an `Alert` to a group below (or a new `RuleGroup` to `rule_groups`), add a promtool case
in `tests/test_observability_alerts.py` (one input that fires it, one that does not) and a heading with the
alert's name in `docs/runbooks/alerts.md`. The tests fail until all three exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from config.api import ApiConfig

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")

# The ai-api's availability objective: 99.9% of requests answer without a 5xx, over 30 days.
SLO_AVAILABILITY = 0.999
# Multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs", table 5-8): (long window, short
# window, burn-rate factor, severity). 14.4x over 1h spends 2% of a 30-day budget; 6x over 6h spends 5%; 3x over 1d
# and 1x over 3d spend 10%. The short window (1/12 of the long one) makes the alert stop soon after the burn does.
BURN_RATE_WINDOWS: tuple[tuple[str, str, float, Severity], ...] = (
    ("1h", "5m", 14.4, "critical"),
    ("6h", "30m", 6.0, "critical"),
    ("1d", "2h", 3.0, "warning"),
    ("3d", "6h", 1.0, "warning"),
)
BURN_SEVERITIES: tuple[Severity, ...] = ("critical", "warning")
# The p99 latency objective missed for 10m warns; missed for 30m pages.
LATENCY_PENDING: tuple[tuple[Severity, str], ...] = (("critical", "30m"), ("warning", "10m"))
ERROR_RATIO_RECORD = "ai_api:request_errors:ratio_rate{window}"
LATENCY_P99_RECORD = "ai_api:request_latency_seconds:p99_rate5m"


@dataclass(frozen=True)
class Alert:
    """One alerting rule. `pending` is Prometheus's `for` (how long the condition must hold before it fires)."""

    name: str
    expr: str
    severity: Severity
    summary: str
    description: str
    pending: str = "0m"
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Record:
    """One recording rule: `expr` evaluated every interval and stored as the series `name`."""

    name: str
    expr: str


@dataclass(frozen=True)
class RuleGroup:
    """A rule group: evaluated together, in order (recording rules before the alerts that read them)."""

    name: str
    rules: tuple[Alert | Record, ...]


@dataclass(frozen=True)
class ApiSlo:
    """What the ai-api's rules need from `ai-platform:api`: where it runs and the names of its metrics.

    error_ratio_max: the release analysis's bound (1 - success_rate_min), reused as the plain error-rate alert.
    latency_p99_max_seconds: the analysis's p99 bound, the latency objective.
    """

    namespace: str
    request_metric: str
    latency_metric: str
    error_ratio_max: float
    latency_p99_max_seconds: float

    @classmethod
    def from_config(cls, config: ApiConfig) -> ApiSlo:
        analysis = config.analysis
        return cls(
            namespace=config.namespace,
            request_metric=analysis.request_metric,
            latency_metric=analysis.latency_metric,
            error_ratio_max=round(1 - analysis.success_rate_min, 6),
            latency_p99_max_seconds=analysis.p99_latency_max_seconds,
        )


def _number(value: float) -> str:
    """A float as PromQL reads it, without binary noise (0.001, not 0.0010000000000000009)."""
    return f"{value:.6g}"


def _api_group(slo: ApiSlo) -> RuleGroup:
    """The ai-api's SLO: error ratios per window, the burn-rate alerts, error rate and p99 latency."""
    selector = f'namespace="{slo.namespace}"'
    windows = sorted({w for long, short, _, _ in BURN_RATE_WINDOWS for w in (long, short)}, key=_seconds)
    records: list[Alert | Record] = [
        Record(
            ERROR_RATIO_RECORD.format(window=w),
            f'sum by (namespace) (rate({slo.request_metric}{{{selector},code=~"5.."}}[{w}]))\n'
            f"/\nsum by (namespace) (rate({slo.request_metric}{{{selector}}}[{w}]))",
        )
        for w in windows
    ]
    records.append(
        Record(
            LATENCY_P99_RECORD,
            f"histogram_quantile(0.99, sum by (namespace, le) (rate({slo.latency_metric}_bucket{{{selector}}}[5m])))",
        )
    )
    budget = _number(1 - SLO_AVAILABILITY)

    def burn(severity: Severity) -> str:
        return "\nor\n".join(
            f"(\n  {ERROR_RATIO_RECORD.format(window=long)} > ({_number(factor)} * {budget})\n"
            f"and\n  {ERROR_RATIO_RECORD.format(window=short)} > ({_number(factor)} * {budget})\n)"
            for long, short, factor, level in BURN_RATE_WINDOWS
            if level == severity
        )

    objective = f"{SLO_AVAILABILITY * 100:g}%"
    budget_text = {
        "critical": "at 14.4x over 1h (and 5m) or 6x over 6h (and 30m): 2-5% of the 30-day budget gone already",
        "warning": "at 3x over 1d (and 2h) or 1x over 3d (and 6h): the budget will not last the 30 days",
    }
    burn_alerts = [
        Alert(
            "AiApiErrorBudgetBurn",
            burn(severity),
            severity,
            "ai-api in {{ $labels.namespace }} is burning its " + objective + " availability error budget",
            f"The share of 5xx responses of the ai-api burns the error budget {budget_text[severity]}.",
            pending="2m" if severity == "critical" else "15m",
        )
        for severity in BURN_SEVERITIES
    ]
    latency = _number(slo.latency_p99_max_seconds)
    latency_alerts = [
        Alert(
            "AiApiLatencyHigh",
            f"{LATENCY_P99_RECORD} > {latency}",
            severity,
            "ai-api p99 latency in {{ $labels.namespace }} is above " + latency + "s",
            f"The 99th percentile of ai-api request latency (5m) has stayed above the {latency}s objective for "
            f"{pending}.",
            pending=pending,
        )
        for severity, pending in LATENCY_PENDING
    ]
    error_rate = Alert(
        "AiApiHighErrorRate",
        f"{ERROR_RATIO_RECORD.format(window='5m')} > {_number(slo.error_ratio_max)}",
        "warning",
        "ai-api in {{ $labels.namespace }} answers too many 5xx",
        f"More than {_number(slo.error_ratio_max * 100)}% of ai-api responses over 5m are 5xx (the release "
        "analysis's bound) and have been for 10m.",
        pending="10m",
    )
    return RuleGroup("ai-api-slo", (*records, *burn_alerts, error_rate, *latency_alerts))


def _workloads_group() -> RuleGroup:
    """Pods and their controllers: throttling, memory, restarts, crash loops, HPA ceiling, blocking PDBs."""
    pod = "namespace, pod, container"
    hpa = "namespace, horizontalpodautoscaler"
    pdb = "namespace, poddisruptionbudget"
    return RuleGroup(
        "workloads",
        (
            Alert(
                "ContainerCpuThrottlingHigh",
                f'sum by ({pod}) (increase(container_cpu_cfs_throttled_periods_total{{container!=""}}[5m]))\n/\n'
                f'sum by ({pod}) (increase(container_cpu_cfs_periods_total{{container!=""}}[5m]))\n> 0.25',
                "info",
                "{{ $labels.container }} in {{ $labels.namespace }}/{{ $labels.pod }} is CPU-throttled",
                "More than 25% of the container's CFS periods were throttled over 5m, for 15m: its CPU limit is "
                "too low for its load (latency grows before anything fails).",
                pending="15m",
            ),
            Alert(
                "ContainerMemoryNearLimit",
                f'max by ({pod}) (container_memory_working_set_bytes{{container!=""}})\n/\n'
                f'max by ({pod}) (kube_pod_container_resource_limits{{resource="memory"}})\n> 0.9',
                "warning",
                "{{ $labels.container }} in {{ $labels.namespace }}/{{ $labels.pod }} is near its memory limit",
                "The container's working set has stayed above 90% of its memory limit for 15m; the kernel "
                "OOM-kills it at 100%.",
                pending="15m",
            ),
            Alert(
                "PodRestartingOften",
                f"sum by ({pod}) (increase(kube_pod_container_status_restarts_total[1h])) > 3",
                "info",
                "{{ $labels.container }} in {{ $labels.namespace }}/{{ $labels.pod }} restarted more than 3 times",
                "The container restarted more than 3 times in the last hour (OOM kills, failed probes or crashes).",
            ),
            Alert(
                "PodCrashLooping",
                f"max by ({pod}) (max_over_time(kube_pod_container_status_waiting_reason"
                f'{{reason="CrashLoopBackOff"}}[5m])) >= 1',
                "warning",
                "{{ $labels.container }} in {{ $labels.namespace }}/{{ $labels.pod }} is crash-looping",
                "The container has been waiting in CrashLoopBackOff for 15m: it exits soon after each start.",
                pending="15m",
            ),
            Alert(
                "HpaAtMaxReplicas",
                f"(\n  max by ({hpa}) (kube_horizontalpodautoscaler_status_current_replicas)\n  >=\n"
                f"  max by ({hpa}) (kube_horizontalpodautoscaler_spec_max_replicas)\n)\nand\n(\n"
                f"  max by ({hpa}) (kube_horizontalpodautoscaler_spec_max_replicas)\n  >\n"
                f"  max by ({hpa}) (kube_horizontalpodautoscaler_spec_min_replicas)\n)",
                "warning",
                "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} is at its maximum replicas",
                "The autoscaler has run at max_replicas for 15m: more load cannot be absorbed by more pods.",
                pending="15m",
            ),
            Alert(
                "PodDisruptionBudgetBlocking",
                f"max by ({pdb}) (kube_poddisruptionbudget_status_pod_disruptions_allowed) == 0\nand\n"
                f"max by ({pdb}) (kube_poddisruptionbudget_status_expected_pods) > 0",
                "warning",
                "PDB {{ $labels.namespace }}/{{ $labels.poddisruptionbudget }} allows no disruption",
                "The budget has allowed no voluntary disruption for 1h: node drains (Karpenter consolidation, "
                "expiry, cluster upgrades) of its pods' nodes are stuck.",
                pending="1h",
            ),
        ),
    )


def _nodes_group() -> RuleGroup:
    """Nodes and volumes: readiness, root disks (node-exporter) and persistent volumes (kubelet) filling up."""
    fs = '{fstype=~"ext4|xfs"}'
    free = f"node_filesystem_avail_bytes{fs} / node_filesystem_size_bytes{fs}"
    pvc = "namespace, persistentvolumeclaim"
    pvc_free = (
        f"max by ({pvc}) (kubelet_volume_stats_available_bytes)\n/\n"
        f"max by ({pvc}) (kubelet_volume_stats_capacity_bytes)"
    )
    return RuleGroup(
        "nodes",
        (
            Alert(
                "NodeNotReady",
                'max by (node) (kube_node_status_condition{condition="Ready",status="true"}) == 0',
                "warning",
                "Node {{ $labels.node }} is not Ready",
                "The node has not been Ready for 15m: its pods are not served and are evicted after the toleration.",
                pending="15m",
            ),
            Alert(
                "NodeFilesystemFillingUp",
                f"(\n  {free} < 0.4\n)\nand\npredict_linear(node_filesystem_avail_bytes{fs}[6h], 24 * 3600) < 0",
                "warning",
                "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} fills up within 24h",
                "Less than 40% is free and the last 6h trend reaches zero within 24 hours.",
                pending="1h",
            ),
            Alert(
                "NodeFilesystemFillingUp",
                f"(\n  {free} < 0.15\n)\nand\npredict_linear(node_filesystem_avail_bytes{fs}[6h], 4 * 3600) < 0",
                "critical",
                "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} fills up within 4h",
                "Less than 15% is free and the last 6h trend reaches zero within 4 hours; the kubelet starts "
                "evicting pods at its hard eviction threshold.",
                pending="30m",
            ),
            Alert(
                "PersistentVolumeFillingUp",
                f"(\n{pvc_free}\n) < 0.15\nand\n"
                f"max by ({pvc}) (predict_linear(kubelet_volume_stats_available_bytes[6h], 4 * 24 * 3600)) < 0",
                "warning",
                "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} fills up within 4 days",
                "Less than 15% of the claim is free and the last 6h trend reaches zero within 4 days.",
                pending="1h",
            ),
            Alert(
                "PersistentVolumeFillingUp",
                f"(\n{pvc_free}\n) < 0.03",
                "critical",
                "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is almost full",
                "Less than 3% of the claim is free: writes fail when it is full (Prometheus, Alertmanager).",
                pending="1m",
            ),
        ),
    )


def _karpenter_group() -> RuleGroup:
    """Karpenter 1.8's own metrics: cloud provider errors, capacity it cannot get, NodePool limits."""
    return RuleGroup(
        "karpenter",
        (
            Alert(
                "KarpenterCloudProviderErrors",
                "sum by (controller, method, error) (rate(karpenter_cloudprovider_errors_total"
                '{error!~"InsufficientCapacityError|NodeClaimNotFoundError"}[15m])) > 0',
                "warning",
                "Karpenter's {{ $labels.method }} calls to EC2 keep failing",
                "Karpenter's cloud provider calls ({{ $labels.controller }}, {{ $labels.method }}) have returned "
                "errors for 30m: nodes may not launch or terminate.",
                pending="30m",
            ),
            Alert(
                "KarpenterInsufficientCapacity",
                'sum(increase(karpenter_cloudprovider_errors_total{error="InsufficientCapacityError"}[15m])) > 0\n'
                "and on ()\nsum(karpenter_scheduler_unschedulable_pods_count) > 0",
                "warning",
                "Karpenter cannot get EC2 capacity for pending pods",
                "EC2 has answered insufficient capacity for 15m while pods stay unschedulable: every instance "
                "type and zone the NodePool allows is exhausted.",
                pending="15m",
            ),
            Alert(
                "KarpenterNodePoolNearLimit",
                "max by (nodepool, resource_type) (karpenter_nodepools_usage)\n/\n"
                "max by (nodepool, resource_type) (karpenter_nodepools_limit)\n> 0.9",
                "warning",
                "NodePool {{ $labels.nodepool }} uses over 90% of its {{ $labels.resource_type }} limit",
                "The NodePool's nodes have held more than 90% of its limit for 15m; at 100% Karpenter launches "
                "no more nodes and new pods stay pending.",
                pending="15m",
            ),
        ),
    )


def _controllers_group() -> RuleGroup:
    """external-secrets 1.3 syncs and Argo Rollouts 1.8 releases."""
    return RuleGroup(
        "platform-controllers",
        (
            Alert(
                "ExternalSecretNotReady",
                'max by (namespace, name) (externalsecret_status_condition{condition="Ready",status="False"}) == 1',
                "warning",
                "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} is not Ready",
                "The ExternalSecret has not been Ready for 15m: its Kubernetes Secret is missing or stale (a "
                "missing AWS secret or property, or access denied).",
                pending="15m",
            ),
            Alert(
                "ExternalSecretSyncErrors",
                "sum by (namespace, name) (rate(externalsecret_sync_calls_error[15m])) > 0",
                "warning",
                "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} keeps failing to sync",
                "Sync calls of the ExternalSecret have failed for 30m; the Secret keeps its last synced value.",
                pending="30m",
            ),
            Alert(
                "RolloutAborted",
                'max by (namespace, name) (rollout_info{phase="Abort"}) == 1',
                "warning",
                "Rollout {{ $labels.namespace }}/{{ $labels.name }} was aborted",
                "The release was aborted (a failed analysis or by hand): the stable version serves all traffic "
                "and the new one is scaled down until it is retried or fixed.",
                pending="1m",
            ),
            Alert(
                "RolloutFailing",
                'max by (namespace, name, phase) (rollout_info{phase=~"Error|Timeout|InvalidSpec"}) == 1',
                "warning",
                "Rollout {{ $labels.namespace }}/{{ $labels.name }} is in phase {{ $labels.phase }}",
                "The rollout has been in Error, Timeout (progress deadline exceeded) or InvalidSpec for 10m.",
                pending="10m",
            ),
        ),
    )


def _meta_group() -> RuleGroup:
    """The dead man's switch: always firing, so its silence says the alerting pipeline is broken."""
    return RuleGroup(
        "meta",
        (
            Alert(
                "Watchdog",
                "vector(1)",
                "info",
                "Alerting pipeline heartbeat",
                "Always firing. If the dead man's switch stops receiving it, Prometheus, Alertmanager or the "
                "notification path is down.",
            ),
        ),
    )


def rule_groups(api: ApiSlo | None) -> tuple[RuleGroup, ...]:
    """Every rule group of the platform; the ai-api's SLO group only when the stack runs the ai-api."""
    groups = (_workloads_group(), _nodes_group(), _karpenter_group(), _controllers_group(), _meta_group())
    return ((_api_group(api),) if api is not None else ()) + groups


def alerts(groups: tuple[RuleGroup, ...]) -> list[Alert]:
    return [rule for group in groups for rule in group.rules if isinstance(rule, Alert)]


def runbook_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def render_rule(rule: Alert | Record, runbooks_url: str) -> dict[str, Any]:
    """One rule as Prometheus (and the PrometheusRule CRD) reads it."""
    if isinstance(rule, Record):
        return {"record": rule.name, "expr": rule.expr}
    body: dict[str, Any] = {"alert": rule.name, "expr": rule.expr}
    if rule.pending != "0m":
        body["for"] = rule.pending
    body["labels"] = {**rule.labels, "severity": rule.severity}
    body["annotations"] = {
        "summary": rule.summary,
        "description": rule.description,
        "runbook_url": f"{runbooks_url}#{runbook_anchor(rule.name)}",
    }
    return body


def render_group(group: RuleGroup, runbooks_url: str) -> dict[str, Any]:
    """A rule group as a `PrometheusRule`'s `spec.groups[]` entry and a rule file's `groups[]` entry."""
    return {"name": group.name, "rules": [render_rule(rule, runbooks_url) for rule in group.rules]}


def _seconds(duration: str) -> int:
    """A Prometheus duration with one unit (5m, 6h, 3d) in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(duration[:-1]) * units[duration[-1]]
