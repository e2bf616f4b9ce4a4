"""`ops dr status`: where the stack stands: which region is active (config) against where the global writer is,
replication lag, the newest recovery point per vault, the Route 53 health checks, and the age of the last
successful drill. Read-only except `--publish` (the drill-age metric the overdue-drill alarm watches)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lib import dr_names
from ops.dr.aurora import replication_lag_ms
from ops.dr.context import DrContext

DRILL_LOOKBACK = timedelta(days=90)


def _safe(what: Any) -> Any:
    try:
        return what()
    except Exception as error:  # one unreachable service must not hide the rest of the status
        return {"unavailable": f"{type(error).__name__}: {error}"}


def last_recovery_point(ctx: DrContext, region: str) -> str | None:
    backup = ctx.client("backup", region)
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName=ctx.vault_name(region)).get(
        "RecoveryPoints", [])  # fmt: skip
    done = [p["CreationDate"] for p in points if p.get("Status") == "COMPLETED"]
    return max(done).isoformat() if done else None


def health_checks(ctx: DrContext) -> dict[str, str]:
    """Health check id -> healthy/unhealthy (by the share of Route 53 checkers reporting success) for the checks
    tagged with this stack."""
    route53 = ctx.client("route53", "us-east-1")
    ids = [h["Id"] for h in route53.list_health_checks().get("HealthChecks", [])]
    if not ids:
        return {}
    tagged = route53.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=ids)["ResourceTagSets"]
    ours = [t["ResourceId"] for t in tagged if {"Key": "stack", "Value": ctx.stack} in t.get("Tags", [])]
    result = {}
    for check_id in ours:
        observations = route53.get_health_check_status(HealthCheckId=check_id).get("HealthCheckObservations", [])
        good = sum(1 for o in observations if o.get("StatusReport", {}).get("Status", "").startswith("Success"))
        result[check_id] = "healthy" if observations and good / len(observations) > 0.18 else "unhealthy"
    return result


def drill_age_hours(ctx: DrContext) -> float | None:
    """Hours since the last successful drill (None: none in the last 90 days)."""
    now = datetime.now(UTC)
    answer = ctx.client("cloudwatch", ctx.config.active_region).get_metric_statistics(
        Namespace=dr_names.DRILL_METRIC_NAMESPACE, MetricName=dr_names.DRILL_SUCCEEDED_METRIC,
        Dimensions=[{"Name": "Stack", "Value": ctx.stack}], StartTime=now - DRILL_LOOKBACK,
        EndTime=now + timedelta(hours=1),
        Period=3600, Statistics=["Maximum"],
    )  # fmt: skip
    good = [p["Timestamp"] for p in answer.get("Datapoints", []) if p["Maximum"] >= 1]
    return round((now - max(good)).total_seconds() / 3600, 1) if good else None


def status(ctx: DrContext) -> dict[str, Any]:
    config = ctx.config
    result: dict[str, Any] = {
        "stack": ctx.stack, "strategy": config.dr.strategy, "primary_region": config.region,
        "dr_region": config.standby_region, "active_region_declared": config.active_region,
    }  # fmt: skip
    if config.dr.strategy == "warm-standby":
        result["writer_region"] = _safe(ctx.writer_region)
        result["in_agreement"] = result["writer_region"] == config.active_region
        standby = config.standby_region or ""
        result["replication_lag_ms"] = _safe(lambda: replication_lag_ms(ctx, standby))
        result["health_checks"] = _safe(lambda: health_checks(ctx))
    result["last_recovery_point"] = {r: _safe(lambda r=r: last_recovery_point(ctx, r)) for r in ctx.regions}
    result["drill_age_hours"] = _safe(lambda: drill_age_hours(ctx))
    return result


def publish_drill_age(ctx: DrContext, age: float | None) -> None:
    """`DrillAgeHours` now; no successful drill in 90 days counts as 90 days (the alarm fires)."""
    value = age if age is not None else DRILL_LOOKBACK.total_seconds() / 3600
    ctx.client("cloudwatch", ctx.config.active_region).put_metric_data(
        Namespace=dr_names.DRILL_METRIC_NAMESPACE,
        MetricData=[{"MetricName": dr_names.DRILL_AGE_METRIC, "Dimensions": [{"Name": "Stack", "Value": ctx.stack}],
                     "Value": value, "Unit": "None"}],
    )  # fmt: skip


def render(result: dict[str, Any]) -> str:
    return "\n".join(f"{key:<24} {value}" for key, value in result.items())
