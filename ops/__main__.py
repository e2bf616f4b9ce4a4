"""The operator's command line: `python -m ops <command>`.

Commands register themselves through `add_parser(subparsers)` in their own module (ops/plan.py, ...). A user
mistake (bad stack file, bad config) exits 2 with a clear message and no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from config import StackConfigError
from ops import cost, docs, gate, plan, security

COMMANDS = (plan, gate, docs, cost, security)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description="ai-platform operations, offline first.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except StackConfigError as error:  # the stack file itself (ops.engine.StackFileError) or a value in it
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`python -m ops plan | head`): stop quietly. Python would otherwise report the
        # failed flush of stdout at exit, so stdout is pointed at /dev/null first (Python's documented recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
