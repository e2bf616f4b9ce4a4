"""RPO and RTO of a stack's disaster-recovery strategy, computed from its settings (`python -m ops dr plan`).

Every figure is either a setting of the stack (health-check interval and threshold, record TTL, the backup rules'
schedules) or a documented typical AWS figure, with its source. Nothing here talks to AWS.

- warm-standby: data loss is the Aurora Global replication lag (typically under a second) for the database and S3
  Replication Time Control's 15 minutes for objects; recovery is detection (interval x failure threshold) + DNS
  TTL + promotion of the secondary (typically under a minute): the standby side is already running.
- backup-restore: data loss is the interval of the most frequent backup rule copied into the DR vault (hourly);
  recovery is the build of the platform in the DR region (`pulumi up` there) while the database restores from the
  copied recovery point, the longer of the two, plus detection and DNS TTL.
- none: nothing leaves `aws:region`; the primary's own backups restore within the region (point-in-time, the latest
  restorable time typically within 5 minutes of now) and a lost region loses the data.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from config import StackConfig
from config.backup import BackupJob
from ops.deploy_time import CLUSTER_CHAIN, duration_of

# Documented typical figures (seconds) and where they come from.
AURORA_GLOBAL_LAG_SECONDS = 1.0
AURORA_GLOBAL_LAG_SOURCE = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database.html "
    "(Aurora Global Database replicates to secondary Regions with typical latency of under a second)"
)
PROMOTION_SECONDS = 60.0
PROMOTION_SOURCE = (
    "https://aws.amazon.com/rds/aurora/global-database/ (a secondary Region can be promoted to take full read/write "
    "workloads in under a minute)"
)
S3_RTC_SECONDS = 900.0
S3_RTC_SOURCE = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html "
    "(S3 RTC replicates 99.99 percent of new objects within 15 minutes)"
)
PITR_LAG_SECONDS = 300.0
PITR_SOURCE = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-pitr.html "
    "(the latest restorable time is typically within 5 minutes of the current time)"
)
HEALTH_CHECK_SOURCE = (
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html "
    "(unhealthy after failure_threshold consecutive failed checks, one every request_interval)"
)
# The objective the issue sets for prod's warm standby.
WARM_STANDBY_RTO_TARGET_SECONDS = 300.0

_HOUR, _DAY = 3600.0, 86400.0


def rule_interval_seconds(spec: BackupJob) -> float:
    """Seconds between two runs of an AWS Backup rule's `cron(min hour dom month dow year)` schedule."""
    match = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", spec.schedule)
    if match is None:
        raise ValueError(f"backup rule {spec.name}: unreadable schedule {spec.schedule}")
    _, hour, dom, _, dow, _ = match.groups()
    if hour == "*":
        return _HOUR
    if dom not in ("*", "?"):
        return 31 * _DAY  # a day of the month: at most 31 days apart
    if dow not in ("*", "?"):
        return 7 * _DAY
    return _DAY


@dataclass(frozen=True)
class Part:
    """One term of an estimate: what, how many seconds, and why (a setting or a cited source)."""

    what: str
    seconds: float
    basis: str


@dataclass(frozen=True)
class Estimate:
    """RPO (data loss) and RTO (time to serve again) of one stack after losing its active region."""

    stack: str
    strategy: str
    primary_region: str
    dr_region: str | None
    active_region: str
    database_rpo_seconds: float | None
    objects_rpo_seconds: float | None
    rto_seconds: float | None
    rpo_basis: str
    objects_basis: str
    rto_parts: list[Part] = field(default_factory=list)
    in_region_rpo_seconds: float = PITR_LAG_SECONDS
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _detection_and_dns(config: StackConfig) -> list[Part]:
    dns = config.dr.dns
    detection = dns.health_check_interval_seconds * dns.health_check_failure_threshold
    return [
        Part(
            "detection",
            float(detection),
            f"dr.dns.health_check_interval_seconds {dns.health_check_interval_seconds} x "
            f"health_check_failure_threshold {dns.health_check_failure_threshold}; {HEALTH_CHECK_SOURCE}",
        ),
        Part("DNS TTL", float(dns.record_ttl_seconds), "dr.dns.record_ttl_seconds (resolvers keep the old answer)"),
    ]


def _objects(config: StackConfig) -> tuple[float | None, str]:
    if config.dr.replication_time_control:
        return S3_RTC_SECONDS, f"S3 cross-region replication with RTC; {S3_RTC_SOURCE}"
    return None, "S3 cross-region replication without RTC: no time bound (dr.replication_time_control is false)"


def platform_build_seconds() -> tuple[float, str]:
    """Modelled seconds to build the platform from scratch in the DR region (the unavoidable cluster chain of
    `ops/deploy_time.py`, whose durations cite their sources)."""
    parts = [(step, duration_of(types[0])) for step, types in CLUSTER_CHAIN]
    return sum(s for _, s in parts), " + ".join(f"{step} {s:.0f} s" for step, s in parts)


def estimate(config: StackConfig) -> Estimate:
    """The stack's RPO and RTO after losing its active region, from its settings."""
    strategy = config.dr.strategy
    common: dict[str, Any] = {
        "stack": config.stack,
        "strategy": strategy,
        "primary_region": config.region,
        "dr_region": config.standby_region,
        "active_region": config.active_region,
    }
    if strategy == "none":
        return Estimate(
            **common, database_rpo_seconds=None, objects_rpo_seconds=None, rto_seconds=None,
            rpo_basis=f"no copy outside {config.region}: the primary's own backups only (point-in-time restore "
            f"within the region, {PITR_SOURCE}); losing the region loses the data",
            objects_basis="no replication", notes=["`ops dr restore` still restores within aws:region"],
        )  # fmt: skip
    objects_rpo, objects_basis = _objects(config)
    if strategy == "warm-standby":
        parts = [*_detection_and_dns(config), Part("promotion of the secondary", PROMOTION_SECONDS, PROMOTION_SOURCE)]
        return Estimate(
            **common, database_rpo_seconds=AURORA_GLOBAL_LAG_SECONDS, objects_rpo_seconds=objects_rpo,
            rto_seconds=sum(p.seconds for p in parts), rto_parts=parts,
            rpo_basis=f"Aurora Global Database replication lag; {AURORA_GLOBAL_LAG_SOURCE}",
            objects_basis=objects_basis,
            notes=["a planned switchover loses no data (Aurora waits for the secondary to catch up)",
                   "the standby side already runs: the ai-api scales out from dr.standby.api_replicas by its HPA"],
        )  # fmt: skip
    copied = [job for job in config.backup.jobs() if job.copied]
    fastest = min(copied, key=rule_interval_seconds)
    build, build_basis = platform_build_seconds()
    restore = duration_of("aws:rds/cluster:Cluster") + duration_of("aws:rds/clusterInstance:ClusterInstance")
    parts = [
        *_detection_and_dns(config),
        Part(
            "platform build in the DR region (the database restores meanwhile)",
            max(build, restore),
            f"max(platform {build:.0f} s: {build_basis}; database restore {restore:.0f} s: cluster + writer, "
            "ops/deploy_time.py)",
        ),
    ]
    return Estimate(
        **common, database_rpo_seconds=rule_interval_seconds(fastest), objects_rpo_seconds=objects_rpo,
        rto_seconds=sum(p.seconds for p in parts), rto_parts=parts,
        rpo_basis=f"the {fastest.name} backup rule ({fastest.schedule}) copies each recovery point into the DR vault "
        f"(components/backup.py); a job may start up to {fastest.start_window_minutes} min late",
        objects_basis=objects_basis,
        notes=["restore size matters: a large database restores slower than the modelled figure"],
    )  # fmt: skip


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds:g} s ({seconds / 60:.1f} min)"


def render(result: Estimate) -> str:
    """The estimate as text for a person."""
    lines = [
        f"stack {result.stack}: strategy {result.strategy}, primary {result.primary_region}, "
        f"DR region {result.dr_region or '-'}, active {result.active_region}",
        f"RPO database  {_duration(result.database_rpo_seconds):<18} {result.rpo_basis}",
        f"RPO objects   {_duration(result.objects_rpo_seconds):<18} {result.objects_basis}",
        f"RTO           {_duration(result.rto_seconds)}",
    ]
    lines += [f"  + {p.what:<40} {_duration(p.seconds):<18} {p.basis}" for p in result.rto_parts]
    lines.append(f"in-region point-in-time restore: RPO {_duration(result.in_region_rpo_seconds)} ({PITR_SOURCE})")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
