"""Offline plan benchmark: per stack, the plan's wall time next to the time of importing the SDKs alone.

Each figure comes from a fresh interpreter (imports are cached within a process), best of --repeat runs.
The SDKs load their submodules lazily, so "imports" means importing exactly the SDK modules the plan of that
stack ended up loading (recorded by the plan run itself). The ratio says how much of a plan is the program and
the engine versus loading pulumi_aws & co.

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

IMPORT_ONLY = """
import importlib, json, sys, time
modules = json.loads(sys.stdin.read())
t0 = time.perf_counter()
for module in modules:
    importlib.import_module(module)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

PLAN = """
import json, sys, time
t0 = time.perf_counter()
from ops.engine import plan_stack
plan = plan_stack(sys.argv[1])
seconds = time.perf_counter() - t0
sdk_modules = sorted(m for m in sys.modules if m.split(".")[0] in {sdks!r})
print(json.dumps({"seconds": seconds, "resources": sum(1 for r in plan.resources if r.custom),
                  "components": sum(1 for r in plan.resources if not r.custom), "modules": sdk_modules}))
""".replace("{sdks!r}", repr(set(SDKS)))


def measure(code: str, *args: str, stdin: str = "") -> dict:
    """Run `code` in a fresh interpreter and read the JSON it prints last."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=PROJECT_DIR, input=stdin, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stacks", nargs="+", default=["dev", "staging", "prod"])
    args = parser.parse_args()

    print(f"offline plan vs importing the SDK modules it loads ({', '.join(SDKS)}); best of {args.repeat}")
    print(f"{'stack':<10}{'plan s':>9}{'imports s':>11}{'ratio':>8}{'resources':>11}{'components':>12}")
    for stack in args.stacks:
        runs = [measure(PLAN, stack) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        modules = json.dumps(best["modules"])
        imports = min(measure(IMPORT_ONLY, stdin=modules)["seconds"] for _ in range(args.repeat))
        print(f"{stack:<10}{best['seconds']:>9.2f}{imports:>11.2f}{best['seconds'] / imports:>8.2f}"
              f"{int(best['resources']):>11}{int(best['components']):>12}")  # fmt: skip


if __name__ == "__main__":
    main()
