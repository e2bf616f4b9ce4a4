"""metrics-server: resource metrics for HorizontalPodAutoscalers and `kubectl top`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.addons.charts import Installed, chart, controller_placement, pdb, zone_spread
from components.base import PlatformComponent

if TYPE_CHECKING:
    from components.addons import AddonsArgs


def install(parent: PlatformComponent, name: str, args: AddonsArgs) -> Installed:
    """Declare the metrics-server chart under `parent` (no AWS permissions: it reads only the kubelets)."""
    addon = args.config.metrics_server
    labels = {"app.kubernetes.io/name": "metrics-server"}
    installed = chart(
        parent,
        name,
        "metrics_server",
        addon,
        {
            "replicas": addon.replicas,
            "podDisruptionBudget": pdb(addon.replicas),
            "topologySpreadConstraints": zone_spread(labels),
            **controller_placement(),
        },
    )
    return Installed(chart=installed, role=None)
