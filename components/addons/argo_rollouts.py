"""Argo Rollouts: the progressive delivery controller the ai-api workload's Rollout needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi_kubernetes as k8s

from components.addons.charts import Installed, chart, controller_placement, zone_spread
from components.base import PlatformComponent

if TYPE_CHECKING:
    from components.addons import AddonsArgs


def install(parent: PlatformComponent, name: str, args: AddonsArgs, *, namespace: k8s.core.v1.Namespace) -> Installed:
    """Declare the Argo Rollouts chart under `parent`, in `namespace` (its CRDs kept on uninstall)."""
    addon = args.config.argo_rollouts
    installed = chart(
        parent,
        name,
        "argo_rollouts",
        addon,
        {
            "installCRDs": True,
            "keepCRDs": True,  # uninstalling the controller must not delete every Rollout
            "controller": {
                "replicas": addon.replicas,
                "pdb": {"enabled": addon.replicas > 1, "minAvailable": 1},
                # The chart's selector label: controller replicas spread over zones.
                "topologySpreadConstraints": zone_spread({"app.kubernetes.io/name": "argo-rollouts"}),
                **controller_placement(),
            },
            "dashboard": {"enabled": False},
        },
        namespace=namespace,
    )
    return Installed(chart=installed, role=None)
