"""What every response command shares: the stack it acts on (region, cluster, admin roles from the stack config),
the AWS session and the caller's identity, dry-run versus apply, and the audit trail of actions.

Each action is one JSON line (`time`, `who`, `command`, `action`, `target`, `mode`, `detail`) on stderr and appended
to the local audit log, dry-runs included: a reviewer sees what was planned as well as what was done.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from config import PROJECT, StackConfigError, load_stack_config
from ops.engine import read_stack_config

DEFAULT_AUDIT_LOG = (
    Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / PROJECT / "security.jsonl"
)


class ResponseError(Exception):
    """Bad input or a refused action: the command prints it and exits 2 with nothing changed."""


@dataclass(frozen=True)
class Target:
    """Where a command acts: the stack's region, account-level names and cluster (from its validated config)."""

    stack: str
    region: str
    cluster_name: str
    admin_roles: tuple[str, ...]

    @classmethod
    def of_stack(cls, stack: str) -> Target:
        try:
            config = load_stack_config(stack, read_stack_config(stack))
        except StackConfigError as error:
            raise ResponseError(str(error)) from None
        return cls(stack, config.region, f"{PROJECT}-{stack}", tuple(config.cluster.admin_roles))


ClientFactory = Callable[[str, str], Any]


def boto3_client(service: str, region: str) -> Any:
    import boto3

    return boto3.client(service, region_name=region)


@dataclass
class Response:
    """One command run: where, who, dry-run or apply, and the audit log it writes to."""

    command: str
    target: Target
    apply: bool
    audit_log: Path
    clients: ClientFactory = boto3_client
    who: str = ""
    actions: list[dict[str, Any]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return self.clients(service, self.target.region)

    def identify(self) -> None:
        """Who runs the command (the caller's ARN), logged with every action."""
        self.who = str(self.client("sts").get_caller_identity()["Arn"])

    def act(self, action: str, target: str, detail: Mapping[str, Any], do: Callable[[], object] | None) -> None:
        """Log one action; run `do` only with --apply (None: a note, nothing to run)."""
        mode = "apply" if self.apply else "dry-run"
        record = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "who": self.who,
            "stack": self.target.stack,
            "command": self.command,
            "action": action,
            "target": target,
            "mode": mode if do is not None else "note",
            "detail": dict(detail),
        }
        verb = "doing" if self.apply else "would do"
        print(f"{verb if do is not None else 'note'}: {action} {target}: {_describe(detail)}")
        if self.apply and do is not None:
            do()
        line = json.dumps(record, sort_keys=True, default=str)
        print(line, file=sys.stderr)
        self.audit_log.parent.mkdir(parents=True, exist_ok=True)
        with self.audit_log.open("a") as log:
            log.write(line + "\n")
        self.actions.append(record)


def _describe(detail: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, default=str) if not isinstance(v, str) else v}" for k, v in detail.items())


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="stack name: region and cluster come from Pulumi.<stack>.yaml")
    parser.add_argument("--apply", action="store_true", help="act; without it, print exactly what would be done")
    parser.add_argument(
        "--audit-log", type=Path, default=DEFAULT_AUDIT_LOG, help=f"audit log (JSON lines; default {DEFAULT_AUDIT_LOG})"
    )


def run_command(
    args: argparse.Namespace,
    body: Callable[[Response], None],
    clients: ClientFactory,
    check: Callable[[], object] = lambda: None,
) -> int:
    """Check the arguments (no call made yet), resolve the stack, identify the caller, run `body`. Bad input or a
    refused action (`ResponseError`) exits 2; an AWS or Kubernetes failure exits 1 naming it (the audit log shows
    what was already done)."""
    try:
        check()
        response = Response(args.security_command, Target.of_stack(args.stack), args.apply, args.audit_log, clients)
        response.identify()
        body(response)
    except ResponseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS refused or was unreachable: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # the Kubernetes client's ApiException and connection errors
        if type(error).__module__.split(".")[0] not in ("kubernetes", "urllib3"):
            raise
        print(f"error: the Kubernetes API refused or was unreachable: {error}", file=sys.stderr)
        return 1
    if not response.apply:
        print("dry run: nothing changed; run again with --apply to act")
    return 0
