"""`python -m ops db maintenance --stack S`: the database maintenance sequence (README "Operations").

Dry run by default: prints the ten steps, the AWS calls, the commands and the SQL, and changes nothing (with
`--connect` it also reads the database through the tunnel to list the exact statements). `--apply` acts; a failed
step stops the run safely and `--apply --resume` continues from it. The SQL runs through an SSM port forward
(ops/db/tunnel.py); the steps themselves are in ops/db/sql.py (SQL), ops/db/aws.py (AWS) and ops/db/runner.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from config import load_stack_config
from ops.db import aws, runner, tunnel
from ops.db.runner import Maintenance, Options, Services
from ops.db.sql import VACUUM_FULL_LOCKS, StepError
from ops.engine import PROJECT_DIR, read_stack_config


class UsageError(ValueError):
    """A command-line mistake: one message, exit status 2."""


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1 (e.g. 0.3 for 30%)")
    return value


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
        return value

    return parse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database operations (maintenance)", description=__doc__)
    commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    p = commands.add_parser(
        "maintenance",
        help="recovery point, lag check, maintenance mode, ANALYZE, REINDEX, VACUUM, extension update, health, log",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--stack", required=True, help="stack name (Pulumi.<stack>.yaml)")
    p.add_argument("--apply", action="store_true", help="act (default: dry run, changes nothing)")
    p.add_argument("--resume", action="store_true", help="with --apply: continue the last failed run from its step")
    p.add_argument("--full", action="store_true", help=f"VACUUM FULL instead of VACUUM. {VACUUM_FULL_LOCKS}")
    p.add_argument("--connect", action="store_true", help="dry run: read the database to list the exact SQL")
    p.add_argument("--bloat-threshold", type=_fraction, default=0.3, help="rebuild above this estimated bloat (0.3)")
    p.add_argument("--min-index-mb", type=_positive(float), default=10.0, help="ignore smaller indexes (10)")
    p.add_argument("--max-replica-lag-ms", type=_positive(float), default=1000.0, help="refuse above this (1000)")
    p.add_argument("--backup-timeout-minutes", type=_positive(int), default=120, help="recovery point wait (120)")
    p.add_argument("--lock-timeout-seconds", type=_positive(int), default=10, help="per-statement lock wait (10)")
    p.add_argument("--extension", action="append", dest="extensions", help="extension to update (default: vector)")
    p.add_argument("--outputs", type=Path, help="`pulumi stack output --json` saved to a file (default: ask pulumi)")
    p.add_argument("--via-instance", help="node instance id to forward through (default: a running cluster node)")
    p.add_argument("--ca-bundle", type=Path, help="RDS CA bundle (global-bundle.pem): TLS verify-full")
    p.add_argument("--state-file", type=Path, help="local run state (default: ~/.local/state/ai-platform/...)")
    p.set_defaults(handler=maintenance)


def default_state_file(stack: str) -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "ai-platform" / f"db-maintenance-{stack}.json"


def stack_outputs(stack: str, path: Path | None) -> dict[str, Any] | None:
    """The stack's outputs from `--outputs` or the Pulumi CLI; None when neither is available."""
    if path is not None:
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError) as error:
            raise UsageError(f"--outputs {path}: not a JSON object of stack outputs ({error})") from None
    if shutil.which("pulumi") is None:
        return None
    done = subprocess.run(  # noqa: S603 - fixed argv
        ["pulumi", "stack", "output", "--json", "--stack", stack],  # noqa: S607 - the operator's pulumi
        cwd=PROJECT_DIR, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return dict(json.loads(done.stdout)) if done.returncode == 0 and done.stdout.strip() else None


def _options(args: argparse.Namespace, retention_days: int) -> Options:
    return Options(
        full=args.full,
        bloat_threshold=args.bloat_threshold,
        min_index_bytes=int(args.min_index_mb * 1024 * 1024),
        max_lag_ms=args.max_replica_lag_ms,
        backup_timeout_seconds=args.backup_timeout_minutes * 60,
        lock_timeout_seconds=args.lock_timeout_seconds,
        extensions=tuple(args.extensions or ("vector",)),
        retention_days=retention_days,
    )


def _load_state(args: argparse.Namespace, state_file: Path, targets: aws.Targets, s3: Any) -> dict[str, Any]:
    if state_file.exists():
        state = dict(json.loads(state_file.read_text()))
    else:
        found = aws.latest_unfinished_log(s3, targets)
        if found is None:
            raise UsageError(f"--resume: no saved run in {state_file} nor an unfinished one in the maintenance log")
        state = found
    if state.get("stack") != args.stack:
        raise UsageError(f"--resume: {state_file} is a run of stack {state.get('stack')}, not {args.stack}")
    return state


def _services(args: argparse.Namespace, targets: aws.Targets, offline: bool, stack: ExitStack) -> Services:
    from ops.db.switch import StackFileSwitch

    switch = StackFileSwitch(args.stack, targets.api_url) if targets.api_url else None
    if offline:
        return Services(switch=switch)
    import boto3  # only this command needs it

    session = boto3.Session(region_name=targets.region)

    def connect() -> Any:
        instance = args.via_instance or tunnel.find_node(session.client("ec2"), targets.cluster_name)
        port = stack.enter_context(tunnel.ssm_tunnel(targets, instance, tunnel.free_port()))
        user, password = tunnel.master_credentials(session.client("secretsmanager"), targets.master_secret_arn)
        connection = tunnel.connect(targets, port, user, password, args.ca_bundle)
        stack.callback(connection.close)
        return connection

    from ops.db.switch import http_get

    return Services(
        backup=session.client("backup"), rds=session.client("rds"), cloudwatch=session.client("cloudwatch"),
        s3=session.client("s3"), connect=connect if args.apply or args.connect else None, switch=switch,
        http_get=http_get,
    )  # fmt: skip


def maintenance(args: argparse.Namespace) -> int:
    try:
        return _maintenance(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _maintenance(args: argparse.Namespace) -> int:
    config = load_stack_config(args.stack, read_stack_config(args.stack))  # a bad stack is exit 2 in ops.__main__
    if args.resume and not args.apply:
        raise UsageError("--resume continues a failed run and acts: add --apply")
    if args.connect and args.apply:
        raise UsageError("--connect is for the dry run (--apply connects anyway)")
    if args.full and config.api is None:
        raise UsageError("--full needs maintenance mode, which needs the ai-api (`ai-platform:api`)")
    outputs = stack_outputs(args.stack, args.outputs)
    if outputs is None and (args.apply or args.connect):
        raise UsageError(
            f"stack {args.stack}: no outputs (`pulumi stack output --json --stack {args.stack}` failed or pulumi is "
            "not installed); log in to the stack's backend or pass --outputs FILE"
        )
    try:
        if outputs is None:
            targets = aws.placeholder_targets(args.stack, with_api=config.api is not None)
        else:
            targets = aws.Targets.from_outputs(args.stack, outputs)
    except aws.TargetsError as error:
        raise UsageError(str(error)) from None
    state_file = args.state_file or default_state_file(args.stack)
    with ExitStack() as stack:
        services = _services(args, targets, outputs is None, stack)
        if args.resume:
            state = _load_state(args, state_file, targets, services.s3)
            try:
                start = runner.resume_index(state)
            except StepError as error:
                raise UsageError(str(error)) from None
        else:
            state = runner.new_state(args.stack, _options(args, config.backup.daily_retention_days))
            start = 0
        mode = "APPLY" if args.apply else "DRY RUN (nothing is changed; --apply acts)"
        print(f"database maintenance of stack {args.stack}, run {state['run_id']}: {mode}")
        if outputs is None:
            print("  (no stack outputs: names of the stack's resources are shown as placeholders)")
        if start:
            print(f"  resuming at step {start + 1} ({runner.KEYS[start]})")
        run = Maintenance(state, targets, services, apply=args.apply, state_path=state_file)
        ok = run.run(start)
    if not ok:
        print(f"stopped; state in {state_file}. Fix the cause, then: python -m ops db maintenance --stack "
              f"{args.stack} --apply --resume")  # fmt: skip
        return 1
    print("done" if args.apply else "dry run complete: nothing was changed")
    return 0
