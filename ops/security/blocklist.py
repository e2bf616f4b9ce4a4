"""`python -m ops security block-ip | unblock-ip | list-blocks`: the WAF blocklist by hand, through the same library
and the same ownership table as the automation (`lambdas/ip_blocking/blocklist.py`), so a block made here expires
like an automatic one and `unblock-ip` never removes an address nobody recorded.

The stack (`--stack`, default dev) gives the region and the names (`lib.security.blocking_names`); AWS credentials
come from the usual chain. Without `--apply` a command only reads and says what it would do.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from config import load_stack_config
from lambdas.ip_blocking.blocklist import BlockError, Blocklist, check_hours, find_ip_set, host_cidr
from lib.security import blocking_names
from ops.engine import read_stack_config


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add block-ip, unblock-ip and list-blocks to `python -m ops security`."""
    block = subparsers.add_parser("block-ip", help="block one public IPv4 address at the ai-api WAF (with expiry)")
    block.add_argument("address", help="one public IPv4 address, e.g. 198.51.100.1 (or .../32)")
    block.add_argument("--hours", type=int, help="how long the block lasts (default: security.ip_blocking.block_hours)")
    block.add_argument("--reason", required=True, help="why (incident id, ticket): recorded with the block")
    block.set_defaults(handler=run_block)
    unblock = subparsers.add_parser("unblock-ip", help="remove a block the automation or block-ip added")
    unblock.add_argument("address", help="the blocked address")
    unblock.set_defaults(handler=run_unblock)
    listing = subparsers.add_parser("list-blocks", help="the blocklist: every address, owner, reason and expiry")
    listing.set_defaults(handler=run_list)
    for parser in (block, unblock, listing):
        parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    for parser in (block, unblock):
        parser.add_argument("--apply", action="store_true", help="make the change (default: dry run)")


class Session:
    """The stack's blocklist, the operator's identity and the block duration default."""

    def __init__(self, stack: str) -> None:
        import boto3  # the AWS SDK only for the commands that call AWS (the offline commands run without it)

        config = load_stack_config(stack, read_stack_config(stack))
        names = blocking_names(stack)
        self.stack, self.default_hours = stack, config.security.ip_blocking.block_hours
        wafv2 = boto3.client("wafv2", region_name=config.region)
        self.who = boto3.client("sts", region_name=config.region).get_caller_identity()["Arn"]
        self.blocks = Blocklist(
            wafv2=wafv2,
            dynamodb=boto3.client("dynamodb", region_name=config.region),
            ip_set=find_ip_set(wafv2, names.ip_set),
            table=names.table,
        )

    def log(self, command: str, record: dict[str, Any]) -> None:
        """One JSON line per action: who, what, when."""
        line = {"time": datetime.now(UTC).isoformat(), "who": self.who, "stack": self.stack, "command": command}
        print(json.dumps({**line, **record}, sort_keys=True))


def _run(args: argparse.Namespace, action: Any) -> int:
    """Check the arguments (nothing is read before they are right), then act; exit 2 on bad input, 1 when AWS
    fails."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if getattr(args, "address", None) is not None:
            host_cidr(args.address)
        if getattr(args, "hours", None) is not None:
            check_hours(args.hours)
        return int(action(Session(args.stack)))
    except BlockError as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    except LookupError as missing:
        print(f"error: {missing} (is the stack deployed with ai-platform:api?)", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as failed:
        print(f"error: AWS refused or could not be reached: {failed}", file=sys.stderr)
        return 1


def run_block(args: argparse.Namespace) -> int:
    def act(session: Session) -> int:
        hours = check_hours(args.hours if args.hours is not None else session.default_hours)
        outcome = session.blocks.block(
            args.address, hours=hours, added_by=f"ops:{session.who}", reason=args.reason, apply=args.apply
        )
        session.log("block-ip", {**outcome.to_json(), "reason": args.reason, "hours": hours})
        return 0

    return _run(args, act)


def run_unblock(args: argparse.Namespace) -> int:
    def act(session: Session) -> int:
        session.log("unblock-ip", session.blocks.unblock(args.address, apply=args.apply).to_json())
        return 0

    return _run(args, act)


def run_list(args: argparse.Namespace) -> int:
    def act(session: Session) -> int:
        owned = session.blocks.owned()
        for address in sorted(session.blocks.addresses()):
            block = owned.get(address)
            entry: dict[str, Any] = {"address": address, "managed": block is not None}
            if block is not None:
                entry.update(added_by=block.added_by, reason=block.reason, expires=block.expires)
            session.log("list-blocks", entry)
        return 0

    return _run(args, act)
