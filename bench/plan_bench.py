"""Offline plan benchmark: per stack, `make plan`'s offline part (`python -m ops plan --stack S --gate`: one build
of the program, its tree, the policy gate over that same plan) next to the time of importing the SDKs alone.

Each figure comes from a fresh interpreter (imports are cached within a process), best of --repeat runs.
The SDKs load their submodules lazily, so "imports" means importing exactly the SDK modules the command ended up
loading (recorded by the run itself): the Pulumi SDKs the program uses, plus the two the gate uses (pulumi_policy,
and botocore, whose service models the aws-api rules read). The ratio says how much of the command is the program,
the engine and the rules versus loading those SDKs; the target is at most 2.0. The command pauses Python's cyclic
garbage collector while it builds and gates (`ops.engine.without_cycle_collection`), which speeds up the SDK imports
it triggers too, so the imports are also timed that way ("imports, no gc") and the ratio to them shown: the
stricter figure, what the program, engine and rules themselves add.

    python bench/plan_bench.py [--repeat 3] [--stacks dev staging prod] [--preview]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SDKS = ("pulumi", "pulumi_aws", "pulumi_eks", "pulumi_kubernetes", "pulumi_random", "pulumi_policy", "botocore")
TARGET_RATIO = 2.0

IMPORT_ONLY = """
import gc, importlib, json, sys, time
if sys.argv[1:] == ["--collector-off"]:
    gc.disable()
modules = json.loads(sys.stdin.read())
t0 = time.perf_counter()
for module in modules:
    importlib.import_module(module)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

PLAN_AND_GATE = """
import contextlib, io, json, re, sys, time
t0 = time.perf_counter()
from ops.__main__ import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    status = main(["plan", "--stack", *sys.argv[1:], "--gate"])
seconds = time.perf_counter() - t0
counts = re.search(r"^stack \\S+: (\\d+) resources in (\\d+) components$", out.getvalue(), re.M)
sdk_modules = sorted(m for m in sys.modules if m.split(".")[0] in {sdks!r})
print(json.dumps({"seconds": seconds, "status": status, "resources": int(counts[1]), "components": int(counts[2]),
                  "modules": sdk_modules}))
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
    parser.add_argument("--preview", action="store_true", help="build each stack as its first `pulumi preview`")
    args = parser.parse_args()

    mode = " --preview" if args.preview else ""
    print(f"`ops plan --stack S --gate{mode}` vs importing the SDK modules it loads ({', '.join(SDKS)}); "
          f"best of {args.repeat}; target ratio <= {TARGET_RATIO}")  # fmt: skip
    print(f"{'stack':<10}{'plan+gate s':>12}{'imports s':>11}{'ratio':>7}{'imports, no gc s':>18}{'ratio':>7}"
          f"{'resources':>11}{'components':>12}  gate")  # fmt: skip
    for stack in args.stacks:
        runs = [measure(PLAN_AND_GATE, stack, *mode.split()) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        modules = json.dumps(best["modules"])
        imports = min(measure(IMPORT_ONLY, stdin=modules)["seconds"] for _ in range(args.repeat))
        no_gc = min(measure(IMPORT_ONLY, "--collector-off", stdin=modules)["seconds"] for _ in range(args.repeat))
        seconds = best["seconds"]
        verdict = "PASS" if best["status"] == 0 else f"FAIL (exit {best['status']})"
        print(f"{stack:<10}{seconds:>12.2f}{imports:>11.2f}{seconds / imports:>7.2f}"
              f"{no_gc:>18.2f}{seconds / no_gc:>7.2f}"
              f"{best['resources']:>11}{best['components']:>12}  {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
