"""`python -m ops dr`: disaster recovery as tested code: plan (RPO/RTO), status, switchover, failover, failback,
restore, adopt (move the workload onto a restored cluster) and drill.

Every command that changes something is a dry run unless `--apply`: it lists its steps and which already hold.
Applied, each step checks its postcondition first (a re-run after a partial failure continues, a re-run after
success changes nothing) and is logged with its timing (JSON lines in `--log`, readable lines on stderr). Bad
input exits 2 with one message and nothing changed; a failed step exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from config import load_stack_config
from lib import dr_names
from ops.dr import adopt, aurora, drill, estimate, restore, status
from ops.dr.context import ClientFactory, DrContext, boto3_clients
from ops.dr.steps import Clock, DrInputError, StepLog, run_steps
from ops.engine import PROJECT_DIR, read_stack_config


def client_factory() -> ClientFactory:
    """AWS clients of the commands (tests replace this with moto-backed clients)."""
    return boto3_clients()


def clock() -> Clock:
    return Clock()


def _aware(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time; allowed: e.g. 2026-12-01T09:30:00Z"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; allowed: e.g. 2026-12-01T09:30:00Z")
    return value.astimezone(UTC)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dr", help="disaster recovery: plan, status, switchover, failover, failback, "
                                   "restore, adopt, drill")  # fmt: skip
    commands = parser.add_subparsers(dest="dr_command", required=True, metavar="DR_COMMAND")

    def command(name: str, help_: str, acts: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_)
        sub.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
        sub.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
        if acts:
            sub.add_argument("--apply", action="store_true", help="act (default: a dry run that changes nothing)")
            sub.add_argument("--log", type=Path, help="JSON-lines step log (default: dr-logs/<stack>-<command>.jsonl)")
        return sub

    plan = command("plan", "RPO and RTO of the stack's strategy, from its settings", acts=False)
    plan.add_argument("--json", action="store_true", help="print JSON instead of a table")
    plan.set_defaults(handler=_plan)
    stat = command("status", "replication lag, recovery points, health checks, active region", acts=False)
    stat.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stat.add_argument("--publish", action="store_true", help="also publish DrillAgeHours (the overdue-drill alarm)")
    stat.set_defaults(handler=_status)
    for name, help_ in (("switchover", "planned move of the writer to --to (no data loss)"),
                        ("failover", "unplanned move of the writer to --to (data loss allowed, reported)"),
                        ("failback", "switchover back to --to (default aws:region) once it has rejoined")):  # fmt: skip
        sub = command(name, help_)
        sub.add_argument("--to", required=name != "failback", metavar="REGION", help="the region to make active")
        if name == "failover":
            sub.add_argument("--detach", action="store_true",
                             help="detach-and-promote the secondary instead of the managed failover")  # fmt: skip
        sub.set_defaults(handler=_move)
    rest = command("restore", "a new cluster from a point in time or a recovery point")
    when = rest.add_mutually_exclusive_group(required=True)
    when.add_argument("--to-time", type=_aware, metavar="T", help="ISO 8601 time with zone, in the restorable window")
    when.add_argument("--latest", action="store_true", help="the latest restorable time")
    when.add_argument("--recovery-point", metavar="ARN", help="an AWS Backup recovery point of the cluster")
    rest.add_argument("--region", help="where to restore (default: the active region)")
    rest.add_argument("--label", help="suffix of the new cluster's name (default: from the time; pin it to re-run)")
    rest.set_defaults(handler=_restore)
    ado = command("adopt", "move the workload onto a restored cluster: rename the live one away, the restored one in")
    ado.add_argument("--restored", required=True, metavar="CLUSTER_ID", help="the cluster `dr restore` created")
    ado.add_argument("--region", help="the clusters' region (default: the active region)")
    ado.set_defaults(handler=_adopt)
    dri = command("drill", "restore the latest recovery point into a scratch cluster, check it, tear it down")
    dri.add_argument("--report", type=Path, default=None, help="JSON report (default: dr-logs/<stack>-drill.json)")
    dri.add_argument(
        "--row-tolerance",
        type=float,
        default=0.01,
        help="share of rows the live source may have gained since the recovery point (default 0.01)",
    )
    dri.set_defaults(handler=_drill)
    parser.set_defaults(handler=lambda args: parser.error("a DR command is required"))


def _context(args: argparse.Namespace) -> DrContext:
    return DrContext.load(args.stack, args.project_dir, client_factory(), clock())


def _log(args: argparse.Namespace, command: str) -> StepLog:
    path = args.log or Path("dr-logs") / f"{args.stack}-{command}.jsonl"
    return StepLog(path, command, args.stack)


def _guarded(run: object) -> int:
    try:
        return int(run())  # type: ignore[operator]
    except DrInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _plan(args: argparse.Namespace) -> int:
    result = estimate.estimate(load_stack_config(args.stack, read_stack_config(args.stack, args.project_dir)))
    print(json.dumps(result.to_json(), indent=2) if args.json else estimate.render(result))
    return 0


def _status(args: argparse.Namespace) -> int:
    ctx = _context(args)
    result = status.status(ctx)
    if args.publish:
        age = result["drill_age_hours"]
        status.publish_drill_age(ctx, age if isinstance(age, float) or age is None else None)
    print(json.dumps(result, indent=2, default=str) if args.json else status.render(result))
    return 0


def _move(args: argparse.Namespace) -> int:
    def run() -> int:
        ctx = _context(args)
        if args.dr_command == "switchover":
            steps = aurora.switchover_steps(ctx, args.to)
        elif args.dr_command == "failback":
            steps = aurora.failback_steps(ctx, args.to or ctx.config.region)
        else:
            steps, lag = aurora.failover_steps(ctx, args.to, detach=args.detach)
            window = "unknown (no AuroraGlobalDBReplicationLag data in 15 min)" if lag is None else f"{lag:g} ms"
            print(f"data-loss window: up to {window}, the last measured replication lag", file=sys.stderr)
        code = run_steps(steps, apply=args.apply, log=_log(args, args.dr_command))
        if code == 0 and args.apply:
            print(f"next: pulumi up --stack {args.stack} (make up STACK={args.stack}): the program now declares "
                  f"{ctx.config.region if args.dr_command == 'failback' and not args.to else args.to} primary",
                  file=sys.stderr)  # fmt: skip
        return code

    return _guarded(run)


def _restore(args: argparse.Namespace) -> int:
    def run() -> int:
        ctx = _context(args)
        region = ctx.require_region(args.region or ctx.config.active_region, "--region")
        source_id = ctx.cluster_id(region)
        if args.to_time is not None:
            label = args.label or args.to_time.strftime("%Y%m%dt%H%M%S")
        else:
            label = args.label or datetime.now(UTC).strftime("latest-%Y%m%d")
        role = None
        if args.recovery_point:
            point = ctx.client("backup", region).describe_recovery_point(
                BackupVaultName=ctx.vault_name(region), RecoveryPointArn=args.recovery_point)  # fmt: skip
            role = point["IamRoleArn"]
        source = restore.RestoreSource(source_id, to_time=args.to_time, recovery_point_arn=args.recovery_point,
                                       iam_role_arn=role)  # fmt: skip
        new_id = dr_names.restored_cluster_identifier(args.stack, label.lower())
        tags = {"Name": new_id, "dr-restore-of": source_id}
        target = restore.RestoreTarget(region, new_id, deletion_protection=True, tags=tags)
        code = run_steps(restore.restore_steps(ctx, source, target), apply=args.apply, log=_log(args, "restore"))
        if code == 0 and args.apply:
            print(f"restored into {new_id}; repoint the workload: docs/runbooks/dr.md 'After a restore'",
                  file=sys.stderr)  # fmt: skip
        return code

    return _guarded(run)


def _adopt(args: argparse.Namespace) -> int:
    def run() -> int:
        ctx = _context(args)
        region = ctx.require_region(args.region or ctx.config.active_region, "--region")
        adoption = adopt.plan_adoption(ctx, region, args.restored, datetime.now(UTC))
        code = run_steps(adopt.adopt_steps(ctx, adoption), apply=args.apply, log=_log(args, "adopt"))
        if code == 0:
            print(f"{'next' if args.apply else 'then'}: pulumi refresh --stack {args.stack}, then pulumi up --stack "
                  f"{args.stack}: the state takes the adopted cluster's resource id (rds-db:connect) and managed "
                  "master secret ARN", file=sys.stderr)  # fmt: skip
        return code

    return _guarded(run)


def _drill(args: argparse.Namespace) -> int:
    def run() -> int:
        ctx = _context(args)
        report = args.report or Path("dr-logs") / f"{args.stack}-drill.json"
        return drill.run_drill(ctx, apply=args.apply, log=_log(args, "drill"), report_path=report,
                               row_tolerance=args.row_tolerance)  # fmt: skip

    return _guarded(run)
