"""SKELETON (branch only): container logs and traces; filled in by its helper."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.base import PlatformComponent

if TYPE_CHECKING:
    from components.observability import ObservabilityArgs


def install(parent: PlatformComponent, name: str, args: ObservabilityArgs) -> None:
    return None
