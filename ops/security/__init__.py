"""`python -m ops security <command>`: the security runbooks as code (README "Security operations",
docs/runbooks/security.md). Each module in `MODULES` registers its own subcommands through `register(subparsers)`;
every command is a dry run unless given `--apply`, and logs each action as one JSON line (who, what, when)."""

from __future__ import annotations

import argparse

from ops.security import blocklist, response

MODULES = (blocklist, response)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "security", help="security runbooks: block an IP, revoke sessions, quarantine; dry-run unless --apply"
    )
    commands = parser.add_subparsers(dest="security_command", required=True, metavar="SECURITY_COMMAND")
    for module in MODULES:
        module.register(commands)
