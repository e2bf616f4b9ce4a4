"""SKELETON (branch only): alert rules and routing; filled in by its helper."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.base import PlatformComponent

if TYPE_CHECKING:
    from components.observability import ObservabilityArgs
    from components.observability.metrics import MetricsStack


def install(parent: PlatformComponent, name: str, args: ObservabilityArgs, stack: MetricsStack) -> None:
    return None
