"""Moving the writer of the Aurora Global Database between the stack's two regions, and declaring it.

- switchover (planned, no data loss): `SwitchoverGlobalCluster`; Aurora waits for the secondary to catch up.
- failover (unplanned): `FailoverGlobalCluster` with `AllowDataLoss=True` (managed: the old primary rejoins as a
  secondary when its region returns), or `--detach`: `RemoveFromGlobalCluster` on the secondary, which becomes a
  standalone writer (the way out when the global cluster's control plane itself does not answer). The data lost is
  at most the replication lag last measured (CloudWatch `AuroraGlobalDBReplicationLag`), reported before acting.
- failback: a switchover back once the old primary has rejoined the global cluster.

Each ends by writing `ai-platform:dr.active_region` into the stack file, so the next `pulumi up` declares the new
primary instead of undoing the move.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from config import load_stack_config
from config.stackfile import read_stack_file
from ops.dr.context import DrContext
from ops.dr.steps import DrInputError, Step
from ops.stackedit import update_file

LAG_METRIC = "AuroraGlobalDBReplicationLag"  # milliseconds, reported by each secondary cluster
LAG_WINDOW = timedelta(minutes=15)


def replication_lag_ms(ctx: DrContext, region: str) -> float | None:
    """The highest replication lag (ms) the cluster in `region` reported over the last 15 minutes (None: no data)."""
    now = datetime.now(UTC)
    answer = ctx.client("cloudwatch", region).get_metric_statistics(
        Namespace="AWS/RDS", MetricName=LAG_METRIC,
        Dimensions=[{"Name": "DBClusterIdentifier", "Value": ctx.cluster_id(region)}],
        StartTime=now - LAG_WINDOW, EndTime=now + timedelta(minutes=1), Period=60, Statistics=["Maximum"],
    )  # fmt: skip
    points = answer.get("Datapoints", [])
    return max(float(p["Maximum"]) for p in points) if points else None


def _writer_is(ctx: DrContext, arn: str) -> bool:
    return ctx.global_members().get(arn, False)


def _global_available(ctx: DrContext) -> bool:
    rds = ctx.client("rds", ctx.config.region)
    found = rds.describe_global_clusters(GlobalClusterIdentifier=ctx.global_cluster_id)["GlobalClusters"]
    return bool(found) and found[0].get("Status", "available") == "available"


def declared_active_region(path: Path, stack: str) -> str:
    """The active region the stack file declares (`aws:region` when `dr.active_region` is unset)."""
    return load_stack_config(stack, read_stack_file(path), source=path.name).active_region


def set_active_region(path: Path, stack: str, region: str) -> bool:
    """Make the stack file declare `region` active (that line only, comments kept); False when it already does (the
    file is not touched). The file is left as it was when the result would not load (ops/stackedit.py)."""
    if declared_active_region(path, stack) == region:
        return False
    return update_file(path, "ai-platform:dr", {("active_region",): region}, stack=stack)


def declare_step(ctx: DrContext, region: str) -> Step:
    """Write `dr.active_region: <region>` into the stack file (comments kept)."""
    return Step(
        f"declare {region} active in {ctx.stack_path.name} (ai-platform:dr.active_region)",
        done=lambda: declared_active_region(ctx.stack_path, ctx.stack) == region,
        act=lambda: set_active_region(ctx.stack_path, ctx.stack, region),
    )


def _member_arn(ctx: DrContext, region: str) -> str:
    """The ARN of the stack's cluster in `region`, which must be a member of the global cluster."""
    arn = ctx.cluster_arn(region)
    if arn not in ctx.global_members():
        raise DrInputError(
            f"{ctx.cluster_id(region)} in {region} is not a member of the global cluster {ctx.global_cluster_id}; "
            "allowed: a member region (after a failover the old primary rejoins when its region is back; "
            "after --detach, `pulumi up` adds it again)"
        )
    return arn


def switchover_steps(ctx: DrContext, target: str) -> list[Step]:
    """Planned move of the writer to `target` with no data loss, then the declaration."""
    ctx.require_dr("switchover")
    ctx.require_region(target, "--to")
    arn = _member_arn(ctx, target)

    def act() -> None:
        ctx.client("rds", target).switchover_global_cluster(
            GlobalClusterIdentifier=ctx.global_cluster_id, TargetDbClusterIdentifier=arn
        )
        ctx.clock.wait_until(f"the writer in {target}", lambda: _writer_is(ctx, arn) and _global_available(ctx))

    return [
        Step(f"switch the global writer to {ctx.cluster_id(target)} ({target})", lambda: _writer_is(ctx, arn), act),
        declare_step(ctx, target),
    ]


def failover_steps(ctx: DrContext, target: str, *, detach: bool) -> tuple[list[Step], float | None]:
    """Unplanned move of the writer to `target` (data loss allowed), a writer instance if the cluster is headless,
    then the declaration; with the last measured lag (ms), the data-loss window."""
    ctx.require_dr("failover")
    ctx.require_region(target, "--to")
    arn = ctx.cluster_arn(target)
    members = ctx.global_members()
    if arn not in members and not detach:
        raise DrInputError(f"{ctx.cluster_id(target)} is not a member of {ctx.global_cluster_id}; allowed: a "
                           "member region, or --detach when it was already detached")  # fmt: skip
    lag = replication_lag_ms(ctx, target)

    def managed() -> None:
        ctx.client("rds", target).failover_global_cluster(
            GlobalClusterIdentifier=ctx.global_cluster_id, TargetDbClusterIdentifier=arn, AllowDataLoss=True
        )
        ctx.clock.wait_until(f"the writer in {target}", lambda: _writer_is(ctx, arn))

    def detached() -> bool:
        return arn not in ctx.global_members()

    def do_detach() -> None:
        ctx.client("rds", target).remove_from_global_cluster(
            GlobalClusterIdentifier=ctx.global_cluster_id, DbClusterIdentifier=arn
        )
        ctx.clock.wait_until(f"{ctx.cluster_id(target)} detached", detached)

    move = (
        Step(f"detach and promote {ctx.cluster_id(target)} ({target})", detached, do_detach)
        if detach
        else Step(
            f"fail the global writer over to {ctx.cluster_id(target)} ({target}), data loss allowed",
            lambda: _writer_is(ctx, arn),
            managed,
        )
    )
    return [move, writer_instance_step(ctx, target), declare_step(ctx, target)], lag


def failback_steps(ctx: DrContext, target: str) -> list[Step]:
    """Back to `target` (default `aws:region`) once its cluster has rejoined the global cluster as a secondary."""
    ctx.require_dr("failback")
    ctx.require_region(target, "--to")
    active = ctx.config.active_region
    if active != target and ctx.cluster_arn(active) not in ctx.global_members():
        # After a detach-and-promote the active cluster is standalone: the global cluster's writer is the stale
        # old primary, and "switching back" to it would discard everything written since.
        raise DrInputError(
            f"the active cluster {ctx.cluster_id(active)} ({active}) is not in the global cluster "
            f"{ctx.global_cluster_id} (it was detached); allowed: fail back once the global cluster is rebuilt "
            f"from it with {ctx.cluster_id(target)} rejoined as a secondary (docs/runbooks/dr.md 'Failback')"
        )
    return switchover_steps(ctx, target)


def _instances(ctx: DrContext, region: str) -> list[dict[str, Any]]:
    cluster = ctx.describe_cluster(region, ctx.cluster_id(region)) or {}
    return list(cluster.get("DBClusterMembers", []))


def writer_instance_step(ctx: DrContext, region: str) -> Step:
    """A headless secondary (`dr.standby.database_reader_count` 0) gets an instance to become its writer."""
    identifier = f"{ctx.cluster_id(region)}-instance-1"
    database = ctx.config.database

    def act() -> None:
        rds = ctx.client("rds", region)
        rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBClusterIdentifier=ctx.cluster_id(region), Engine="aurora-postgresql",
            DBInstanceClass=database.instance_class, PubliclyAccessible=False, AutoMinorVersionUpgrade=True,
            CopyTagsToSnapshot=True, Tags=[{"Key": "Name", "Value": identifier}],
        )  # fmt: skip
        ctx.clock.wait_until(f"{identifier} available", lambda: ctx.instance_status(region, identifier) == "available")

    return Step(f"a writer instance in {ctx.cluster_id(region)} ({region})", lambda: bool(_instances(ctx, region)), act)
