"""`python -m ops security <command>`: the security runbooks as code. Each module registers its commands with
`register(subparsers)`; every command is a dry run unless given `--apply`, and logs each action as one JSON line
(who, what, when)."""

from __future__ import annotations

import argparse

from ops.security import blocklist

MODULES = (blocklist,)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("security", help="security runbooks: block-ip, unblock-ip, list-blocks")
    commands = parser.add_subparsers(dest="security_command", required=True, metavar="COMMAND")
    for module in MODULES:
        module.register(commands)
