"""What every platform component shares: its type token and how its children are parented."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi

from config import PROJECT


class PlatformComponent(pulumi.ComponentResource):
    """Base of every component: type token `ai-platform:<area>:<ClassName>`; `area` also names the `component` tag."""

    area: ClassVar[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None, **kwargs: Any) -> None:
        super().__init__(f"{PROJECT}:{self.area}:{type(self).__name__}", name, None, opts, **kwargs)

    def child_opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a direct child: always parented to this component (names, tags and providers follow)."""
        return pulumi.ResourceOptions(parent=self, **kwargs)
