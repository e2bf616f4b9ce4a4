"""Grafana dashboards as code: every `*.json` file here is one dashboard, shipped as a ConfigMap that Grafana's
dashboard sidecar loads (label `grafana_dashboard: "1"`, the label the chart's sidecar watches).

To add a dashboard, export it from Grafana (Share > Export, "Export for sharing externally" off), save it here as
`<name>.json` with a stable `uid`, the Prometheus datasource `{"type": "prometheus", "uid": "prometheus"}`, and only
metrics the platform produces (tests/test_observability_metrics.py checks each query's metric names and PromQL).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lib.k8s import object_metadata

DASHBOARD_DIR = Path(__file__).resolve().parent
# The label (and value) kube-prometheus-stack's Grafana sidecar looks for on ConfigMaps in every namespace.
SIDECAR_LABEL_KEY, SIDECAR_LABEL_VALUE = "grafana_dashboard", "1"
SIDECAR_LABEL: dict[str, str] = {SIDECAR_LABEL_KEY: SIDECAR_LABEL_VALUE}
LABELS: dict[str, str] = {"app.kubernetes.io/part-of": "ai-platform", "app.kubernetes.io/managed-by": "pulumi"}


def dashboards() -> dict[str, dict[str, Any]]:
    """Dashboard file stem -> its JSON model, for every `*.json` file in this directory (sorted by name)."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARD_DIR.glob("*.json"))}


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard: its panels' targets (rows' nested panels included)."""
    found: list[str] = []
    for panel in dashboard.get("panels", []):
        for nested in [panel, *panel.get("panels", [])]:
            found += [target["expr"] for target in nested.get("targets", []) if target.get("expr")]
    return found


def config_maps(name: str, namespace: str, opts: pulumi.ResourceOptions) -> list[k8s.core.v1.ConfigMap]:
    """Declare one ConfigMap per dashboard (`<name>-dashboard-<stem>`, Kubernetes name `dashboard-<stem>`) in
    `namespace`, holding `<stem>.json`; the sidecar picks it up without a Grafana restart."""
    return [
        k8s.core.v1.ConfigMap(
            f"{name}-dashboard-{stem}",
            metadata=object_metadata(f"dashboard-{stem}", namespace, {**LABELS, **SIDECAR_LABEL}),
            data={f"{stem}.json": json.dumps(model, sort_keys=True)},
            opts=opts,
        )
        for stem, model in dashboards().items()
    ]
