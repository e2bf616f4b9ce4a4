"""Operations rules: every stack has a budget that alerts someone, and outside dev nodes are only replaced inside
a maintenance window."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import MEDIUM, StackIndex, as_strings, items, mapping, stack_rule

BUDGET = "aws:budgets/budget:Budget"
# What makes a stack a platform stack with a running bill (the bootstrap project's bucket and roles cost cents).
CLUSTERS = ("eks:index:Cluster", "aws:eks/cluster:Cluster")
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"


@stack_rule(
    id="budget-present",
    area="operations",
    types=(),
    description="A stack running an EKS cluster has a monthly cost budget with a limit and at least one alert to an "
    "SNS topic.",
    severity=MEDIUM,
    remediation="Keep the operations component: an aws.budgets.Budget (COST, MONTHLY, limit from ai-platform:cost) "
    "whose notifications publish to the alert topics.",
    controls=("AWS Well-Architected COST02-BP05",),
    on_unknown="pass",
)
def budget_present(_subject: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    budgets = index.by_type(BUDGET)
    if not budgets and not index.by_type(*CLUSTERS):
        return
    if not budgets:
        yield "the stack declares no AWS Budget: nobody hears when its spend runs away"
        return
    for budget in budgets:
        props = budget.props
        if props.get("timeUnit") != "MONTHLY" or not props.get("limitAmount"):
            yield f"budget {budget.name} is not a monthly budget with a limit"
        topics = [
            t for n in items(props.get("notifications")) for t in as_strings(mapping(n).get("subscriberSnsTopicArns"))
        ]
        if not topics:
            yield f"budget {budget.name} alerts no SNS topic"


@stack_rule(
    id="maintenance-window-set",
    area="operations",
    types=(NODE_POOL,),
    description="Karpenter replaces nodes for drift and consolidation only inside a maintenance window: a scheduled "
    "disruption budget of 0 nodes covers the rest of the week.",
    severity=MEDIUM,
    remediation="Set ai-platform:maintenance.window (ddd:hh:mm-ddd:hh:mm UTC): the NodePool gets a budget "
    '{nodes: "0", reasons: [Drifted, Underutilized], schedule, duration} closing every other hour of the week.',
    controls=(),
    on_unknown="pass",
)
def maintenance_window_set(
    pool: PolicyResource | None, _index: StackIndex, _config: Mapping[str, Any]
) -> Iterable[str]:
    assert pool is not None
    budgets = [
        mapping(b) for b in items(mapping(mapping(mapping(pool.props).get("spec")).get("disruption")).get("budgets"))
    ]
    closed = [b for b in budgets if str(b.get("nodes")) == "0" and b.get("schedule") and b.get("duration")]
    if not closed:
        yield f"NodePool {pool.name} may replace nodes at any hour: no scheduled budget of 0 nodes outside a window"
        return
    held = {
        reason for b in closed for reason in (as_strings(b.get("reasons")) or ["Drifted", "Underutilized", "Empty"])
    }
    if "Drifted" not in held:
        yield f"NodePool {pool.name} replaces drifted nodes (AMI and version upgrades) outside the maintenance window"
