"""`ai-platform:database`: Aurora PostgreSQL with pgvector."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.errors import FieldError
from config.types import LogRetentionDays, Section, parse_backup_window, parse_maintenance_window

# First Aurora PostgreSQL minor version, per major, that ships pgvector 0.8.0 (AWS release notes, 2025-04); older
# minors have pgvector 0.7.x without iterative index scans.
AURORA_PGVECTOR_08_MIN_MINOR: dict[int, int] = {13: 20, 14: 17, 15: 12, 16: 8, 17: 4}
# Performance Insights retention AWS accepts: 7 days (free tier), a number of months (31 * 1..23), or 731.
PERFORMANCE_INSIGHTS_RETENTION_DAYS: tuple[int, ...] = (7, *range(31, 714, 31), 731)
# Enhanced-monitoring intervals RDS accepts (0 turns it off).
MONITORING_INTERVALS: tuple[int, ...] = (0, 1, 5, 10, 15, 30, 60)


# Words PostgreSQL or RDS reserve, which RDS refuses as the master user name.
_RESERVED_DB_USERS = frozenset({"postgres", "rdsadmin", "rdsrepladmin", "rds_superuser", "admin", "public", "user"})


def _check_engine_version(version: str) -> str:
    """Allowed: major.minor shipping pgvector >= 0.8: 17.4+, 16.8+, 15.12+, 14.17+, 13.20+."""
    match = re.fullmatch(r"([0-9]+)\.([0-9]+)", version) if isinstance(version, str) else None
    floor = ", ".join(f"{major}.{minor}+" for major, minor in AURORA_PGVECTOR_08_MIN_MINOR.items())
    if match is None:
        raise ValueError(
            f"{version!r} is not an Aurora PostgreSQL version; allowed: major.minor with pgvector >= 0.8 ({floor})"
        )
    major, minor = int(match[1]), int(match[2])
    if major not in AURORA_PGVECTOR_08_MIN_MINOR or minor < AURORA_PGVECTOR_08_MIN_MINOR[major]:
        raise ValueError(f"Aurora PostgreSQL {version} ships pgvector older than 0.8; allowed: {floor}")
    return version


def _check_capacity(acu: float) -> float:
    """Allowed: 0-256 ACUs in steps of 0.5."""
    if not 0 <= acu <= 256 or (acu * 2) != int(acu * 2):
        raise ValueError(f"{acu} is not a Serverless v2 capacity; allowed: 0 to 256 ACUs in steps of 0.5")
    return acu


def _check_pi_retention(days: int) -> int:
    """Allowed: 7 (free), 31 x months (1-23) or 731."""
    if days not in PERFORMANCE_INSIGHTS_RETENTION_DAYS:
        raise ValueError(f"{days} is not a Performance Insights retention; allowed: 7, 31 * months (1-23) or 731")
    return days


def _check_monitoring_interval(seconds: int) -> int:
    """Allowed: 0, 1, 5, 10, 15, 30 or 60."""
    if seconds not in MONITORING_INTERVALS:
        allowed = ", ".join(map(str, MONITORING_INTERVALS))
        raise ValueError(f"{seconds} is not an enhanced-monitoring interval; allowed: {allowed}")
    return seconds


def _check_identifier(name: str) -> str:
    """Allowed: a lowercase letter, then letters, digits or _ (max 63); not postgres, rdsadmin, admin, public,
    user...."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name) or name in _RESERVED_DB_USERS:
        raise ValueError(
            f"{name!r} is not usable; allowed: lowercase letter then letters, digits or _ (max 63), "
            f"not one of {', '.join(sorted(_RESERVED_DB_USERS))}"
        )
    return name


def _check_master_username(name: str) -> str:
    """Allowed: a lowercase letter, then lowercase letters or digits, 1-16 in all (RDS CreateDBCluster
    MasterUsername: "1 to 16 letters or numbers, first character a letter"); not postgres, rdsadmin, admin, public,
    user...."""
    if not re.fullmatch(r"[a-z][a-z0-9]{0,15}", name) or name in _RESERVED_DB_USERS:
        raise ValueError(
            f"{name!r} is not a master user name RDS accepts; allowed: a lowercase letter then letters or digits "
            f"(1-16 in all, no _), not one of {', '.join(sorted(_RESERVED_DB_USERS))}"
        )
    return name


class DatabaseConfig(Section):
    """`ai-platform:database`: Aurora PostgreSQL (pgvector) — capacity, resilience, backups, observability."""

    engine_version: Annotated[str, AfterValidator(_check_engine_version)] = Field(
        "17.4",
        description="Aurora PostgreSQL major.minor at creation; AWS then applies minor upgrades in the maintenance "
        "window (a major upgrade is a deliberate change). 17.4 ships pgvector 0.8.0 (iterative index scans).",
    )
    database_name: Annotated[str, AfterValidator(_check_identifier)] = Field(
        "aiplatform", description="Database created with the cluster (the application's database)."
    )
    master_username: Annotated[str, AfterValidator(_check_master_username)] = Field(
        "platformadmin", description="Master user name; its password is generated and rotated by RDS, never set."
    )
    instance_class: str = Field(
        "db.serverless",
        pattern=r"^db\.(serverless|[a-z0-9]+\.[a-z0-9]+)$",
        description="`db.serverless` (Aurora Serverless v2) or a provisioned class such as db.r7g.large.",
    )
    serverless_min_capacity: Annotated[float, AfterValidator(_check_capacity)] = Field(
        2, description="Serverless v2 minimum ACUs (0 lets the cluster auto-pause; needs auto_pause_after_seconds)."
    )
    serverless_max_capacity: Annotated[float, AfterValidator(_check_capacity)] = Field(
        64, description="Serverless v2 maximum ACUs (1-256, >= the minimum)."
    )
    auto_pause_after_seconds: int | None = Field(
        None, ge=300, le=86400, description="Idle seconds before a 0-ACU cluster pauses (300-86400); only with min 0."
    )
    reader_count: int = Field(
        2, ge=0, le=15, description="Reader instances besides the writer; instances go round-robin over the AZs."
    )
    backup_retention_days: int = Field(
        35,
        ge=1,
        le=35,
        description="Days of automated backups / point-in-time recovery; equal to backup.daily_retention_days while "
        "backup.continuous_backup is on.",
    )
    backup_window: str = Field(
        "03:00-04:00", description="Daily automated-backup window (UTC).",
        json_schema_extra={"allowed": "hh:mm-hh:mm UTC, at least 30 minutes"},
    )  # fmt: skip
    maintenance_window: str = Field(
        "tue:09:00-tue:10:00",
        description="Weekly maintenance window (UTC); the default is clear of the AWS Backup jobs (daily 05:00, "
        "weekly Sunday 06:00, monthly on the 1st at 07:00).",
        json_schema_extra={"allowed": "ddd:hh:mm-ddd:hh:mm UTC, at least 30 minutes, clear of backup_window every day"},
    )
    deletion_protection: bool = Field(True, description="RDS deletion protection on the cluster.")
    final_snapshot: bool = Field(True, description="Take the final snapshot `<cluster>-final` when it is deleted.")
    protect: bool = Field(True, description="Pulumi `protect` on the cluster and its instances (no accidental delete).")
    secret_rotation_days: int = Field(
        30, ge=1, le=365, description="Days between rotations of the RDS-managed master password (1-365)."
    )
    performance_insights_retention_days: Annotated[int, AfterValidator(_check_pi_retention)] = Field(
        31, description="Performance Insights retention: 7 (free), 31 * months (1-23) or 731."
    )
    monitoring_interval_seconds: Annotated[int, AfterValidator(_check_monitoring_interval)] = Field(
        60, description="Enhanced-monitoring interval in seconds (0 turns it off)."
    )
    log_exports: tuple[Literal["postgresql", "iam-db-auth-error"], ...] = Field(
        ("postgresql", "iam-db-auth-error"), description="Database logs exported to CloudWatch Logs."
    )
    log_retention_days: LogRetentionDays = Field(365, description="Retention of the exported database log groups.")
    slow_query_ms: int = Field(
        1000, ge=-1, le=3_600_000, description="Log statements slower than this (log_min_duration_statement; -1 off)."
    )

    @model_validator(mode="after")
    def _check(self) -> DatabaseConfig:
        if self.serverless_min_capacity > self.serverless_max_capacity:
            raise FieldError(
                "serverless_min_capacity",
                f"{self.serverless_min_capacity} ACUs is above the maximum {self.serverless_max_capacity}; "
                f"allowed: min <= max",
            )
        if self.serverless_max_capacity < 1:
            raise FieldError("serverless_max_capacity", f"{self.serverless_max_capacity} ACUs; allowed: 1 to 256")
        if self.serverless_min_capacity == 0 and self.auto_pause_after_seconds is None:
            raise FieldError(
                "auto_pause_after_seconds", "required when serverless_min_capacity is 0; allowed: 300 to 86400"
            )
        if self.serverless_min_capacity > 0 and self.auto_pause_after_seconds is not None:
            raise FieldError(
                "auto_pause_after_seconds",
                f"only a cluster that scales to 0 pauses (serverless_min_capacity is {self.serverless_min_capacity}); "
                f"allowed: unset, or serverless_min_capacity 0",
            )
        try:
            backup = parse_backup_window(self.backup_window)
        except ValueError as error:
            raise FieldError("backup_window", str(error)) from None
        try:
            maintenance = parse_maintenance_window(self.maintenance_window)
        except ValueError as error:
            raise FieldError("maintenance_window", str(error)) from None
        if backup & maintenance:
            raise FieldError(
                "maintenance_window",
                f"{self.maintenance_window} overlaps the daily backup window {self.backup_window}; "
                f"allowed: a weekly window outside {self.backup_window} UTC",
            )
        return self

    @property
    def serverless(self) -> bool:
        return self.instance_class == "db.serverless"

    @property
    def engine_major(self) -> int:
        return int(self.engine_version.split(".")[0])
