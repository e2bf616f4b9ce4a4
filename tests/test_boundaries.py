"""Component boundaries: the composition uses what a component exposes (its registered outputs), never its
children, so a component can change inside without breaking the platform."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from components.base import PlatformComponent
from components.platform import Platform
from ops.engine import PROJECT_DIR, plan_stack

PLATFORM_SOURCE = PROJECT_DIR / "components" / "platform.py"


def _attributes_read_by_platform() -> dict[str, set[str]]:
    """`self.<component>.<attribute>` reads in components/platform.py, as {component attribute: {attributes}}."""
    reads: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(PLATFORM_SOURCE.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "self"
        ):
            reads.setdefault(node.value.attr, set()).add(node.attr)
    return reads


@pytest.fixture(scope="module")
def registered_outputs(monkeypatch_module: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """The output names each component of the prod platform registers, keyed by Platform's attribute name."""
    by_component: dict[int, set[str]] = {}
    original = PlatformComponent.register_outputs

    def record(self: PlatformComponent, outputs: Any) -> None:
        by_component[id(self)] = set(outputs)
        original(self, outputs)

    platforms: list[Platform] = []
    original_init = Platform.__init__

    def keep(self: Platform, *args: Any, **kwargs: Any) -> None:
        platforms.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch_module.setattr(PlatformComponent, "register_outputs", record)
    monkeypatch_module.setattr(Platform, "__init__", keep)
    plan_stack("prod")
    [platform] = platforms
    return {
        attribute: by_component[id(value)]
        for attribute, value in vars(platform).items()
        if isinstance(value, PlatformComponent) and id(value) in by_component
    }


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def test_platform_reads_only_registered_outputs_of_its_components(registered_outputs: dict[str, set[str]]) -> None:
    reads = _attributes_read_by_platform()
    undeclared = {
        component: sorted(attributes - registered_outputs[component])
        for component, attributes in reads.items()
        if component in registered_outputs and attributes - registered_outputs[component]
    }
    assert not undeclared, f"Platform reads component attributes that are not registered outputs: {undeclared}"
    assert {"network", "cluster", "database", "addons"} <= set(reads) & set(registered_outputs)
