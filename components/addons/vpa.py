"""The Vertical Pod Autoscaler's recommender only: without updater and admission controller a VPA object can only
recommend, never evict or resize pods."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.addons.charts import Installed, chart, controller_placement, pdb
from components.base import PlatformComponent

if TYPE_CHECKING:
    from components.addons import AddonsArgs


def install(parent: PlatformComponent, name: str, args: AddonsArgs) -> Installed:
    """Declare the VPA chart under `parent`, with the updater and admission controller switched off."""
    addon = args.config.vpa
    installed = chart(
        parent,
        name,
        "vpa",
        addon,
        {
            "recommender": {
                "enabled": True,
                "replicas": addon.replicas,
                "podDisruptionBudget": pdb(addon.replicas),
                **controller_placement(),
            },
            "updater": {"enabled": False},
            "admissionController": {"enabled": False},
        },
    )
    return Installed(chart=installed, role=None)
