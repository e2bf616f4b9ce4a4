"""`python -m ops security <command>`: the security response runbooks as code (README "Security operations",
docs/runbooks/security.md). Each module in `MODULES` registers its own subcommands through `register(subparsers)`."""

from __future__ import annotations

import argparse

from ops.security import response

MODULES = (response,)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "security", help="incident response: dry-run by default, --apply to act, every action audit-logged"
    )
    commands = parser.add_subparsers(dest="security_command", required=True, metavar="SECURITY_COMMAND")
    for module in MODULES:
        module.register(commands)
