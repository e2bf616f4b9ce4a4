"""Offline plan benchmark: per stack, the plan's wall time next to the time of importing the SDKs alone.

Each figure comes from a fresh interpreter (imports are cached within a process), best of --repeat runs.
The ratio says how much of a plan is the program itself versus loading pulumi_aws & co.

    python bench/plan_bench.py [--repeat 3] [--stacks dev staging prod]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SDKS = ("pulumi", "pulumi_aws", "pulumi_eks", "pulumi_kubernetes", "pulumi_random")

IMPORT_ONLY = f"""
import json, time
t0 = time.perf_counter()
import {", ".join(SDKS)}
print(json.dumps({{"seconds": time.perf_counter() - t0}}))
"""

PLAN = """
import json, sys, time
t0 = time.perf_counter()
from ops.engine import plan_stack
plan = plan_stack(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t0, "resources": sum(1 for r in plan.resources if r.custom),
                  "components": sum(1 for r in plan.resources if not r.custom)}))
"""


def measure(code: str, *args: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stacks", nargs="+", default=["dev", "staging", "prod"])
    args = parser.parse_args()

    imports = min(measure(IMPORT_ONLY)["seconds"] for _ in range(args.repeat))
    print(f"SDK import alone ({', '.join(SDKS)}): {imports:.2f} s (best of {args.repeat})")
    print(f"{'stack':<10}{'plan s':>9}{'imports s':>11}{'ratio':>8}{'resources':>11}{'components':>12}")
    for stack in args.stacks:
        runs = [measure(PLAN, stack) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        print(f"{stack:<10}{best['seconds']:>9.2f}{imports:>11.2f}{best['seconds'] / imports:>8.2f}"
              f"{int(best['resources']):>11}{int(best['components']):>12}")  # fmt: skip


if __name__ == "__main__":
    main()
