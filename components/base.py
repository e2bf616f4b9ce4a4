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
        # Ordering reaches a component one way only, `opts.depends_on`. Pulumi does not pass a component's
        # dependencies on to its children, so a component hands `waits_for` to the children that need it.
        self.waits_for: tuple[pulumi.Resource, ...] = _resources(opts.depends_on if opts else None)

    def child_opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a direct child: always parented to this component (names, tags and providers follow)."""
        return pulumi.ResourceOptions(parent=self, **kwargs)


def _resources(depends_on: object) -> tuple[pulumi.Resource, ...]:
    """`opts.depends_on` as a tuple of resources (it may be one resource, a list, or absent)."""
    if depends_on is None:
        return ()
    if isinstance(depends_on, pulumi.Resource):
        return (depends_on,)
    if isinstance(depends_on, list | tuple) and all(isinstance(r, pulumi.Resource) for r in depends_on):
        return tuple(depends_on)
    raise TypeError("a platform component takes depends_on as a resource or a list of resources, not an Output")
