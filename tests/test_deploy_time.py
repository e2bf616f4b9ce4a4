"""The modelled deploy time (ops.deploy_time): the critical path on a hand-made graph, and each shipped stack's
plan within 10% of its unavoidable chain (a property of the plan's ordering, not a timing test)."""

from __future__ import annotations

from typing import Any

from ops.deploy_time import DURATIONS, critical_path, unavoidable
from ops.engine import Plan

SECONDS = {"t:a": 10, "t:b": 20, "t:d": 30, "t:e": 5, "t:f": 1, "t:h": 2, "t:g": 1, "t:chart": 30, "t:prov": 25}


def resource(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"urn": f"urn:{name}", "type": type_, "name": name, **extra}


def small_plan() -> Plan:
    """A (10s) <- B (20s); component C (its own dependency on B not passed on) holds D (30s, after A) and E (5s);
    F (1s) waits for C; H (2s) has an input from B; G (1s) waits for its provider P (25s); remote chart R (30s)
    waits for E."""
    return Plan.from_json(
        "test",
        [
            resource("A", "t:a"),
            resource("B", "t:b", dependencies=["urn:A"]),
            resource("C", "t:component", custom=False, dependencies=["urn:B"]),
            resource("D", "t:d", parent="urn:C", dependencies=["urn:A"]),
            resource("E", "t:e", parent="urn:C"),
            resource("F", "t:f", dependencies=["urn:C"]),
            resource("H", "t:h", propertyDependencies={"x": ["urn:B"]}),
            resource("P", "t:prov"),
            resource("G", "t:g", provider="urn:P::p-id"),
            resource("R", "t:chart", custom=False, remote=True, dependencies=["urn:E"]),
        ],
    )


def test_critical_path_of_a_small_graph() -> None:
    """F ends at 41 s: after C's children (D at 10+30); had C's own dependency on B reached D, F would end at 61."""
    path = critical_path(small_plan(), lambda type_: SECONDS.get(type_, 0))
    assert path.total == 41
    assert [(step.urn, step.start, step.end) for step in path.chain] == [
        ("urn:A", 0, 10),
        ("urn:D", 10, 40),
        ("urn:F", 40, 41),
    ]


def test_inputs_providers_and_remote_components_order_creates() -> None:
    """H starts after B (an input), G after its provider P, the remote chart R after E: each alone is the path."""
    plan = small_plan()
    for keep, total, chain in (
        ("H", 32, ["A", "B", "H"]),
        ("G", 26, ["P", "G"]),
        ("R", 35, ["E", "R"]),
    ):
        trimmed = Plan(plan.stack, [r for r in plan.resources if r.name in {*chain, keep}])
        path = critical_path(trimmed, lambda type_: SECONDS.get(type_, 0))
        assert path.total == total, keep
        assert [step.urn.removeprefix("urn:") for step in path.chain] == chain


def test_every_modelled_duration_names_its_public_source() -> None:
    for type_, duration in DURATIONS.items():
        assert duration.seconds > 0, type_
        assert all(url.startswith("https://") for url in duration.source.split("; ")), type_
        assert duration.says, type_


def test_each_stack_deploys_within_ten_percent_of_its_unavoidable_chain(plan_of, any_stack) -> None:
    """Nothing on the critical path waits for what it does not need: migrations not for readers or unrelated
    add-ons, the ALB not for the schema."""
    plan = plan_of(any_stack)
    path = critical_path(plan)
    floor, chain, _ = unavoidable(plan)
    assert path.total <= 1.10 * floor, (
        f"{any_stack}: {path.total / 60:.1f} min vs {floor / 60:.1f} min ({chain} chain): "
        + " -> ".join(step.urn.rsplit("::", 1)[-1] for step in path.chain)
    )
