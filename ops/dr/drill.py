"""The restore drill: the latest recovery point into a scratch cluster (the restore steps of `ops dr restore`),
integrity checked against the source, the time to usable measured (the drill's RTO), the scratch cluster torn down
even on failure, a JSON report written, and CloudWatch metrics published for the failed/overdue-drill alarm."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lib import dr_names
from ops.dr.context import DrContext
from ops.dr.integrity import Connection, check_integrity
from ops.dr.restore import RestoreSource, RestoreTarget, latest_recovery_point, restore_steps
from ops.dr.steps import StepLog, run_steps

Connect = Callable[[DrContext, str, str], Connection]  # (ctx, region, cluster id) -> an open connection


def connect_with_managed_secret(ctx: DrContext, region: str, cluster_id: str) -> Connection:
    """psycopg over TLS to the cluster's writer endpoint as the master user of its RDS-managed secret (run from
    a network that reaches the database subnets: the deploy runner in the VPC)."""
    import psycopg

    cluster = ctx.describe_cluster(region, cluster_id) or {}
    secret = json.loads(ctx.client("secretsmanager", region).get_secret_value(
        SecretId=cluster["MasterUserSecret"]["SecretArn"])["SecretString"])  # fmt: skip
    return psycopg.connect(
        host=cluster["Endpoint"], port=cluster.get("Port", 5432), dbname=ctx.config.database.database_name,
        user=secret["username"], password=secret["password"], sslmode="require", autocommit=True, connect_timeout=30,
    )  # fmt: skip


def publish(ctx: DrContext, region: str, succeeded: bool, usable_seconds: float | None) -> None:
    """`ai-platform/dr` metrics per stack: DrillSucceeded (1/0), DrillAgeHours (0 after a success; `ops dr status
    --publish` keeps it current between drills) and the measured time to usable."""
    dimensions = [{"Name": "Stack", "Value": ctx.stack}]
    data: list[dict[str, Any]] = [
        {"MetricName": dr_names.DRILL_SUCCEEDED_METRIC, "Dimensions": dimensions, "Value": float(succeeded),
         "Unit": "Count"},
    ]  # fmt: skip
    if succeeded:
        data.append({"MetricName": dr_names.DRILL_AGE_METRIC, "Dimensions": dimensions, "Value": 0.0, "Unit": "None"})
    if usable_seconds is not None:
        data.append({"MetricName": dr_names.DRILL_RTO_METRIC, "Dimensions": dimensions, "Value": usable_seconds,
                     "Unit": "Seconds"})  # fmt: skip
    ctx.client("cloudwatch", region).put_metric_data(Namespace=dr_names.DRILL_METRIC_NAMESPACE, MetricData=data)


def teardown(ctx: DrContext, region: str, cluster_id: str) -> None:
    """Delete the scratch cluster and its instances (no final snapshot: it is a copy); nothing when absent."""
    rds = ctx.client("rds", region)
    cluster = ctx.describe_cluster(region, cluster_id)
    if cluster is None:
        return
    for member in cluster.get("DBClusterMembers", []):
        rds.delete_db_instance(DBInstanceIdentifier=member["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier=cluster_id, SkipFinalSnapshot=True)
    ctx.clock.wait_until(f"{cluster_id} deleted", lambda: ctx.describe_cluster(region, cluster_id) is None)


def run_drill(
    ctx: DrContext,
    *,
    apply: bool,
    log: StepLog,
    report_path: Path,
    connect: Connect | None = None,
    row_tolerance: float = 0.01,
) -> int:
    """Dry run: the steps; `--apply`: the drill, its report and metrics. 0 only when the restore is usable and
    its data checks out."""
    connect = connect or connect_with_managed_secret
    region = ctx.config.active_region
    source_id = ctx.cluster_id(region)
    source_arn = ctx.cluster_arn(region)
    point = latest_recovery_point(ctx, region, source_arn)
    label = datetime.now(UTC).strftime("%Y%m%d%H%M")
    scratch = dr_names.drill_cluster_identifier(ctx.stack, label)
    source = RestoreSource(source_id, recovery_point_arn=point["RecoveryPointArn"], iam_role_arn=point["IamRoleArn"])
    target = RestoreTarget(region, scratch, deletion_protection=False,
                           tags={"dr-drill": label, "Name": scratch})  # fmt: skip
    steps = restore_steps(ctx, source, target)
    if not apply:
        return run_steps(steps, apply=False, log=log)
    report: dict[str, Any] = {"stack": ctx.stack, "region": region, "source": source_id, "scratch": scratch,
                              "recovery_point": point["RecoveryPointArn"],
                              "recovery_point_time": str(point["CreationDate"]), "started": label}  # fmt: skip
    started, usable = time.monotonic(), None
    try:
        if run_steps(steps, apply=True, log=log) == 0:
            usable = time.monotonic() - started
            integrity = check_integrity(connect(ctx, region, source_id), connect(ctx, region, scratch),
                                        row_tolerance=row_tolerance)  # fmt: skip
            report["integrity"] = integrity.to_json()
            log.event("integrity", "done" if integrity.ok else "failed", message="; ".join(integrity.problems) or "ok")
    except Exception as error:  # the drill's verdict is the report; teardown and metrics must still happen
        report["error"] = f"{type(error).__name__}: {error}"
        log.event("drill", "failed", message=report["error"])
    finally:
        try:
            teardown(ctx, region, scratch)
            log.event(f"tear down {scratch}", "done")
        except Exception as error:  # reported, and the drill fails: a scratch cluster left behind costs money
            report["teardown_error"] = f"{type(error).__name__}: {error}"
            log.event(f"tear down {scratch}", "failed", message=report["teardown_error"])
    succeeded = usable is not None and report.get("integrity", {}).get("ok", False) and "teardown_error" not in report
    report.update(succeeded=succeeded, time_to_usable_seconds=usable)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    publish(ctx, region, succeeded, usable)
    print(f"drill {'succeeded' if succeeded else 'FAILED'}; report: {report_path}", file=log.stream)
    return 0 if succeeded else 1
