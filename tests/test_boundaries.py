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


# Names a component is reached through in platform.py: the platform itself and its sites (`Site` objects).
OWNERS = {"self", "site", "primary", "dr", "standby"}


def _component_of(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """`owner.<component>` (or a local alias of one) -> the component attribute name."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in OWNERS:
        return node.attr
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    return None


def _attributes_read_by_platform() -> dict[str, set[str]]:
    """`<owner>.<component>.<attribute>` reads in components/platform.py (owner: the platform or a site, or a local
    alias `database = site.database`), as {component attribute: {attributes}}."""
    tree = ast.parse(PLATFORM_SOURCE.read_text())
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            pairs: list[tuple[ast.expr, ast.expr]] = []
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                pairs = list(zip(target.elts, value.elts, strict=False))
            else:
                pairs = [(target, value)]
            for name, source in pairs:
                component = _component_of(source, {}) if isinstance(name, ast.Name) else None
                if isinstance(name, ast.Name) and component is not None and name.id not in OWNERS:
                    aliases[name.id] = component
    reads: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            component = _component_of(node.value, aliases)
            if component is not None and not (isinstance(node.value, ast.Name) and node.value.id in OWNERS):
                reads.setdefault(component, set()).add(node.attr)
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
    owners = [vars(platform), *(vars(site) for site in (platform.primary, platform.dr_site) if site is not None)]
    registered: dict[str, set[str]] = {}
    for attributes in owners:
        for attribute, value in attributes.items():
            if isinstance(value, PlatformComponent) and id(value) in by_component:
                registered.setdefault(attribute, set()).update(by_component[id(value)])
    return registered


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
