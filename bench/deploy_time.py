"""Modelled from-scratch deploy time per stack: the critical path through the offline plan's dependency graph,
next to the unavoidable chain (what no ordering can shorten), and their ratio.

Durations per resource type, each with its public source, are in `ops/deploy_time.py` (`--sources` prints them);
how Pulumi's ordering is modelled is that module's docstring. A figure of the plan, not a measurement.

    python bench/deploy_time.py [--stacks dev staging prod] [--sources]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from ops.deploy_time import DEFAULT_SECONDS, DURATIONS, critical_path, unavoidable  # noqa: E402
from ops.engine import plan_stack  # noqa: E402


def minutes(seconds: float) -> str:
    return f"{seconds / 60:5.1f} min"


def report(stack: str) -> None:
    """Print one stack's critical path (its chain, slow steps only), its unavoidable chain and their ratio."""
    plan = plan_stack(stack)
    path = critical_path(plan)
    floor, which, parts = unavoidable(plan)
    print(f"{stack}: critical path {minutes(path.total)}, unavoidable ({which} chain) {minutes(floor)}, "
          f"ratio {path.total / floor:.2f}")  # fmt: skip
    for step in path.chain:
        if step.end - step.start > DEFAULT_SECONDS:
            name = step.urn.rsplit("::", 1)[-1]
            print(f"    {minutes(step.start)} -> {minutes(step.end)}  {name} ({step.type})")
    print("  unavoidable: " + " -> ".join(f"{step} {seconds:.0f}s" for step, seconds in parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stacks", nargs="+", default=["dev", "staging", "prod"])
    parser.add_argument("--sources", action="store_true", help="print the duration table and its sources")
    args = parser.parse_args()
    if args.sources:
        for type_, duration in sorted(DURATIONS.items()):
            print(f"{type_}: {duration.seconds:.0f}s\n    {duration.source}\n    {duration.says}")
        print(f"any other type: {DEFAULT_SECONDS:.0f}s")
    print("modelled from-scratch deploy (steps over a few seconds shown)")
    for stack in args.stacks:
        report(stack)


if __name__ == "__main__":
    main()
