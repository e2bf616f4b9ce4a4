"""`python -m ops plan`: what a stack would create, built offline by the real program under the mock engine.

`--preview` builds it as the stack's first `pulumi preview` sees it; `--gate` then gates that same plan (`make plan`:
one build for both).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from ops.engine import PROJECTS, Plan, plan_project, read_stack_config
from ops.gate import gate_plan, stack_environment

# The stack `--stack` defaults to, per project (the bootstrap ships one example stack).
DEFAULT_STACKS = {"platform": "dev", "bootstrap": "platform-account"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plan", help="build a stack offline and print its resource tree")
    parser.add_argument(
        "--project",
        choices=sorted(PROJECTS),
        default="platform",
        help="which Pulumi project: the platform (default; Pulumi.yaml at the root) or the bootstrap "
        "(bootstrap/Pulumi.yaml)",
    )
    parser.add_argument(
        "--stack",
        help="stack name: reads Pulumi.<stack>.yaml of the project (default: dev; bootstrap: platform-account)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the recorded plan as JSON to FILE")
    parser.add_argument(
        "--preview",
        action="store_true",
        help="build it as the stack's first `pulumi preview` sees it: outputs of resources to create are unknown, "
        'inputs built from them are recorded as "[unknown]"',
    )
    parser.add_argument(
        "--gate",
        action="store_true",
        help="then run the policy gate over this same plan (as `ops gate --stack`, without building it again); "
        "the exit status is the gate's",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    stack = args.stack or DEFAULT_STACKS[args.project]
    plan = plan_project(args.project, stack, preview=args.preview)
    print(render_tree(plan))
    if args.json:
        args.json.write_text(json.dumps(plan.to_json(), indent=2, sort_keys=True) + "\n")
        print(f"plan written to {args.json}")
    if args.gate:
        return gate_plan(plan, project_environment(args.project, stack))
    return 0


def project_environment(project: str, stack: str) -> str:
    """The pack config a stack is gated with: a platform stack's environment; a bootstrap stack's strictest
    environment among the platform stacks it serves (it holds their state and the keys to deploy them)."""
    if project == "platform":
        return stack_environment(stack)
    from bootstrap.settings import load_bootstrap_config

    spec = PROJECTS[project]
    return load_bootstrap_config(stack, read_stack_config(stack, spec.directory)).environment


def render_tree(plan: Plan) -> str:
    """Components as a tree; under each, its direct child components and a count per resource type."""
    lines: list[str] = []

    def walk(urn: str, depth: int) -> None:
        children = plan.children(urn)
        counts = Counter(child.type for child in children if child.custom)
        for child in sorted((c for c in children if not c.custom), key=lambda c: c.name):
            lines.append(f"{'  ' * depth}{child.type} {child.name}")
            walk(child.urn, depth + 1)
        for type_, count in sorted(counts.items()):
            lines.append(f"{'  ' * depth}- {type_} x{count}")

    recorded = {r.urn for r in plan.resources}
    roots = [r for r in plan.resources if r.parent not in recorded]  # children of the stack itself
    for root in sorted(roots, key=lambda r: r.name):
        lines.append(f"{root.type} {root.name}")
        walk(root.urn, 1)
    lines.extend(render_releases(plan))
    custom = sum(1 for r in plan.resources if r.custom)
    lines.append(f"stack {plan.stack}: {custom} resources in {len(plan.resources) - custom} components")
    return "\n".join(lines)


def render_releases(plan: Plan) -> list[str]:
    """One line per workload the program declares itself (Deployment or Argo Rollout): how it is released."""
    lines = []
    for resource in plan.resources:
        kind = resource.inputs.get("kind")
        if resource.type not in ("kubernetes:apps/v1:Deployment", "kubernetes:argoproj.io/v1alpha1:Rollout"):
            continue
        meta, spec = resource.inputs.get("metadata", {}), resource.inputs.get("spec", {})
        strategy = spec.get("strategy", {})
        if "canary" in strategy:
            canary = strategy["canary"]
            weights = [str(step["setWeight"]) for step in canary.get("steps", []) if "setWeight" in step]
            how = f"canary {' -> '.join(weights)}%" + (", with analysis" if canary.get("analysis") else "")
        elif "blueGreen" in strategy:
            auto = strategy["blueGreen"].get("autoPromotionEnabled", True)
            how = f"blue-green, {'automatic' if auto else 'manual'} promotion"
        else:
            rolling = strategy.get("rollingUpdate", {})
            how = f"rolling (maxSurge {rolling.get('maxSurge')}, maxUnavailable {rolling.get('maxUnavailable')})"
        where = f"{meta.get('namespace', 'default')}/{meta.get('name', resource.name)}"
        lines.append(f"release: {kind} {where}: {how}, {spec.get('replicas')} replicas")
    return lines
