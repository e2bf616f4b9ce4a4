"""Typed stack configuration: the one place where stacks differ, validated once before any resource exists.

A stack file (`Pulumi.<stack>.yaml`) sets `aws:region` and the project's own keys (`ai-platform:<section>`).
`ai-platform:environment` picks a set of defaults (dev cheap, prod resilient) from `ENVIRONMENT_DEFAULTS`;
every key the stack file sets overrides its default, key by key. The merged result is validated by pydantic
models that forbid unknown keys. Every mistake is collected into one `StackConfigError` whose lines read
`Pulumi.<stack>.yaml: ai-platform:<key>: <what is wrong>; allowed: <...>`.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args, get_origin

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT = "ai-platform"
Environment = Literal["dev", "staging", "prod"]

# Every AWS region name (commercial, GovCloud, China) as of 2026-11; a typo here is caught before any API call.
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
        "ca-central-1", "ca-west-1", "mx-central-1", "sa-east-1",
        "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "eu-south-1", "eu-south-2", "eu-north-1",
        "il-central-1", "me-south-1", "me-central-1", "af-south-1",
        "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1",
    }
)  # fmt: skip

# The retention values CloudWatch Logs accepts (PutRetentionPolicy); anything else fails at deploy time.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Tags the platform sets itself on every taggable resource; a stack may not override them.
MANDATORY_TAG_KEYS: tuple[str, ...] = ("project", "stack", "environment", "component", "managed-by")
# Tags every stack must supply (cost allocation and ownership).
REQUIRED_USER_TAG_KEYS: tuple[str, ...] = ("owner", "cost-center")

PRIVATE_RANGES = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)
# Smallest private (workload) subnet: EKS's VPC CNI hands every pod an address from it.
MIN_PRIVATE_SUBNET_PREFIX = 22
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs")
InterfaceEndpoint = Literal["ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs"]


class StackConfigError(pulumi.RunError):
    """A user mistake in a stack file: one line per bad key, reported without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(problems))


# --- reusable field types -------------------------------------------------------------------------------------


def _check_log_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ValueError(f"{days} is not a CloudWatch Logs retention; allowed: {allowed}")
    return days


LogRetentionDays = Annotated[int, AfterValidator(_check_log_retention)]


class Section(BaseModel):
    """Base of every config section: immutable, and unknown keys are errors (a typo never goes unnoticed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- validation helpers ---------------------------------------------------------------------------------------


class _FieldError(ValueError):
    """Raised by a model validator to blame one field (dotted path relative to the model)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def subnet_slots(az_count: int) -> int:
    """Subnets per tier are carved in a power-of-two grid, so growing to more AZs never moves existing ranges."""
    return 1 << max(1, math.ceil(math.log2(az_count)))


def _parse_private_cidr(cidr: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{cidr!r} is not an IPv4 network ({error}); allowed: e.g. 10.0.0.0/16 with host bits zero"
        ) from None
    if not any(network.subnet_of(r) for r in PRIVATE_RANGES):
        raise ValueError(
            f"{cidr} is not a private range; allowed: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
        )
    if network.prefixlen < 16:
        raise ValueError(f"{cidr} is larger than a VPC can be; allowed: a prefix from /16 (AWS maximum)")
    return network


def _check_region(region: str) -> str:
    if region not in AWS_REGIONS:
        raise ValueError(f"{region!r} is not an AWS region; allowed: {', '.join(sorted(AWS_REGIONS))}")
    return region


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    missing = [k for k in REQUIRED_USER_TAG_KEYS if not tags.get(k)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}; allowed: a map that sets {', '.join(REQUIRED_USER_TAG_KEYS)}")
    reserved = sorted(set(tags) & set(MANDATORY_TAG_KEYS))
    if reserved:
        raise ValueError(f"{', '.join(reserved)} are set by the platform; allowed: any other key")
    for key, value in tags.items():
        if key.lower().startswith("aws:") or not 1 <= len(key) <= 128 or len(value) > 256:
            raise ValueError(
                f"tag {key!r} is invalid; allowed: keys of 1-128 chars not starting with aws:, values <= 256 chars"
            )
    return tags


# --- sections ---------------------------------------------------------------------------------------------------


class NetworkConfig(Section):
    """`ai-platform:network`: the VPC and how it reaches the internet and AWS APIs."""

    cidr: Annotated[str, AfterValidator(lambda cidr: str(_parse_private_cidr(cidr)))] = Field(
        "10.0.0.0/16", description="VPC IPv4 range: private (RFC 1918), /16 to the size the AZs need."
    )
    az_count: int = Field(3, ge=2, le=6, description="Availability zones to spread subnets over (2-6).")
    availability_zones: tuple[str, ...] | None = Field(
        None, description="Explicit AZ names (e.g. us-east-1a); default: the first az_count AZs the region offers."
    )
    nat_strategy: Literal["single", "one_per_az"] = Field(
        "one_per_az", description="One NAT gateway for the VPC (cheap) or one per AZ (survives an AZ outage)."
    )
    flow_logs_retention_days: LogRetentionDays = Field(365, description="Retention of the VPC flow-log group.")
    flow_logs_traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = Field(
        "ALL", description="Traffic the flow log records."
    )
    interface_endpoints: tuple[InterfaceEndpoint, ...] = Field(
        INTERFACE_ENDPOINTS, description="Interface VPC endpoints to create (the S3 gateway endpoint always exists)."
    )

    @model_validator(mode="after")
    def _check(self) -> NetworkConfig:
        network = ipaddress.IPv4Network(self.cidr)
        slots = subnet_slots(self.az_count)
        private_prefix = network.prefixlen + 1 + int(math.log2(slots))
        if private_prefix > MIN_PRIVATE_SUBNET_PREFIX:
            largest = MIN_PRIVATE_SUBNET_PREFIX - 1 - int(math.log2(slots))
            raise _FieldError(
                "cidr",
                f"{self.cidr} is too small for {self.az_count} AZs (private subnets would be /{private_prefix}, "
                f"too few pod IPs); allowed: a prefix from /16 to /{largest}",
            )
        if self.availability_zones is not None and len(self.availability_zones) != self.az_count:
            raise _FieldError(
                "availability_zones",
                f"{len(self.availability_zones)} names given but az_count is {self.az_count}; "
                f"allowed: exactly az_count distinct AZ names",
            )
        if self.availability_zones is not None and len(set(self.availability_zones)) != self.az_count:
            raise _FieldError("availability_zones", "names repeat; allowed: distinct AZ names")
        return self


class IdentityConfig(Section):
    """`ai-platform:identity`: KMS keys and IAM."""

    kms_deletion_window_days: int = Field(
        30, ge=7, le=30, description="Days a scheduled KMS key deletion waits (7-30); the window to cancel a mistake."
    )


# --- data layer: database, storage, backup ----------------------------------------------------------------------

# First Aurora PostgreSQL minor version, per major, that ships pgvector 0.8.0 (AWS release notes, 2025-04); older
# minors have pgvector 0.7.x without iterative index scans.
AURORA_PGVECTOR_08_MIN_MINOR: dict[int, int] = {13: 20, 14: 17, 15: 12, 16: 8, 17: 4}
# Performance Insights retention AWS accepts: 7 days (free tier), a number of months (31 * 1..23), or 731.
PERFORMANCE_INSIGHTS_RETENTION_DAYS: tuple[int, ...] = (7, *range(31, 714, 31), 731)
# Enhanced-monitoring intervals RDS accepts (0 turns it off).
MONITORING_INTERVALS: tuple[int, ...] = (0, 1, 5, 10, 15, 30, 60)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MINUTES, _WEEK_MINUTES = 24 * 60, 7 * 24 * 60
# Words PostgreSQL or RDS reserve, which RDS refuses as the master user name.
_RESERVED_DB_USERS = frozenset({"postgres", "rdsadmin", "rdsrepladmin", "rds_superuser", "admin", "public", "user"})


def _hhmm(text: str) -> int:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", text)
    if match is None:
        raise ValueError(f"{text!r} is not a UTC time; allowed: hh:mm from 00:00 to 23:59")
    return int(match[1]) * 60 + int(match[2])


def _window_minutes(start: int, end: int, period: int) -> set[int]:
    """The minutes (mod `period`) a window covers; a window may wrap past midnight / the end of the week."""
    length = (end - start) % period
    return {(start + m) % period for m in range(length)}


def parse_backup_window(text: str) -> set[int]:
    """`hh:mm-hh:mm` (UTC, at least 30 minutes) -> the minutes of every day of the week it covers."""
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a daily window; allowed: hh:mm-hh:mm in UTC, e.g. 03:00-04:00")
    start, end = _hhmm(parts[0]), _hhmm(parts[1])
    daily = _window_minutes(start, end, _DAY_MINUTES)
    if len(daily) < 30:
        raise ValueError(f"{text} lasts {len(daily)} minutes; allowed: at least 30 minutes (RDS rule)")
    return {day * _DAY_MINUTES + m for day in range(7) for m in daily}


def parse_maintenance_window(text: str) -> set[int]:
    """`ddd:hh:mm-ddd:hh:mm` (UTC, at least 30 minutes) -> the minutes of the week it covers."""
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise ValueError(
            f"{text!r} is not a weekly window; allowed: ddd:hh:mm-ddd:hh:mm in UTC, e.g. sun:05:00-sun:06:00"
        )
    bounds = []
    for part in parts:
        day, _, clock = part.partition(":")
        if day not in _WEEKDAYS:
            raise ValueError(f"{part!r} does not start with a weekday; allowed: {', '.join(_WEEKDAYS)}")
        bounds.append(_WEEKDAYS.index(day) * _DAY_MINUTES + _hhmm(clock))
    minutes = _window_minutes(bounds[0], bounds[1], _WEEK_MINUTES)
    if len(minutes) < 30:
        raise ValueError(f"{text} lasts {len(minutes)} minutes; allowed: at least 30 minutes (RDS rule)")
    return minutes


def _check_engine_version(version: str) -> str:
    match = re.fullmatch(r"(\d+)\.(\d+)", version) if isinstance(version, str) else None
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
    if not 0 <= acu <= 256 or (acu * 2) != int(acu * 2):
        raise ValueError(f"{acu} is not a Serverless v2 capacity; allowed: 0 to 256 ACUs in steps of 0.5")
    return acu


def _check_pi_retention(days: int) -> int:
    if days not in PERFORMANCE_INSIGHTS_RETENTION_DAYS:
        raise ValueError(f"{days} is not a Performance Insights retention; allowed: 7, 31 * months (1-23) or 731")
    return days


def _check_monitoring_interval(seconds: int) -> int:
    if seconds not in MONITORING_INTERVALS:
        allowed = ", ".join(map(str, MONITORING_INTERVALS))
        raise ValueError(f"{seconds} is not an enhanced-monitoring interval; allowed: {allowed}")
    return seconds


def _check_identifier(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name) or name in _RESERVED_DB_USERS:
        raise ValueError(
            f"{name!r} is not usable; allowed: lowercase letter then letters, digits or _ (max 63), "
            f"not one of {', '.join(sorted(_RESERVED_DB_USERS))}"
        )
    return name


class DatabaseConfig(Section):
    """`ai-platform:database`: Aurora PostgreSQL (pgvector) — capacity, resilience, backups, observability."""

    engine_version: Annotated[str, AfterValidator(_check_engine_version)] = Field(
        "17.4", description="Aurora PostgreSQL major.minor; must ship pgvector >= 0.8 (17.4+, 16.8+, 15.12+ ...)."
    )
    database_name: Annotated[str, AfterValidator(_check_identifier)] = Field(
        "aiplatform", description="Database created with the cluster (the application's database)."
    )
    master_username: Annotated[str, AfterValidator(_check_identifier)] = Field(
        "platform_admin", description="Master user name; its password is generated and rotated by RDS, never set."
    )
    instance_class: str = Field(
        "db.serverless",
        pattern=r"^db\.(serverless|[a-z0-9]+\.[a-z0-9]+)$",
        description="`db.serverless` (Aurora Serverless v2) or a provisioned class such as db.r7g.large.",
    )
    serverless_min_capacity: Annotated[float, AfterValidator(_check_capacity)] = Field(
        0.5, description="Serverless v2 minimum ACUs (0 lets the cluster auto-pause; needs auto_pause_after_seconds)."
    )
    serverless_max_capacity: Annotated[float, AfterValidator(_check_capacity)] = Field(
        16, description="Serverless v2 maximum ACUs (1-256, >= the minimum)."
    )
    auto_pause_after_seconds: int | None = Field(
        None, ge=300, le=86400, description="Idle seconds before a 0-ACU cluster pauses (300-86400); only with min 0."
    )
    reader_count: int = Field(2, ge=0, le=15, description="Reader instances besides the writer, spread over the AZs.")
    backup_retention_days: int = Field(
        35, ge=1, le=35, description="Days of automated backups / point-in-time recovery (RDS allows 1-35)."
    )
    backup_window: str = Field("03:00-04:00", description="Daily automated-backup window, hh:mm-hh:mm UTC (>= 30 min).")
    maintenance_window: str = Field(
        "tue:09:00-tue:10:00", description="Weekly maintenance window, ddd:hh:mm-ddd:hh:mm UTC, apart from backups."
    )
    deletion_protection: bool = Field(True, description="RDS deletion protection on the cluster.")
    final_snapshot: bool = Field(True, description="Take a named final snapshot when the cluster is deleted.")
    protect: bool = Field(True, description="Pulumi `protect` on the cluster and its instances (no accidental delete).")
    secret_rotation_days: int = Field(
        30, ge=1, le=365, description="Days between rotations of the RDS-managed master password (1-365)."
    )
    performance_insights_retention_days: Annotated[int, AfterValidator(_check_pi_retention)] = Field(
        7, description="Performance Insights retention: 7 (free), 31 * months (1-23) or 731."
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
            raise _FieldError(
                "serverless_min_capacity",
                f"{self.serverless_min_capacity} ACUs is above the maximum {self.serverless_max_capacity}; "
                f"allowed: min <= max",
            )
        if self.serverless_max_capacity < 1:
            raise _FieldError("serverless_max_capacity", f"{self.serverless_max_capacity} ACUs; allowed: 1 to 256")
        if self.serverless_min_capacity == 0 and self.auto_pause_after_seconds is None:
            raise _FieldError(
                "auto_pause_after_seconds", "required when serverless_min_capacity is 0; allowed: 300 to 86400"
            )
        if self.serverless_min_capacity > 0 and self.auto_pause_after_seconds is not None:
            raise _FieldError(
                "auto_pause_after_seconds",
                f"only a cluster that scales to 0 pauses (serverless_min_capacity is {self.serverless_min_capacity}); "
                f"allowed: unset, or serverless_min_capacity 0",
            )
        try:
            backup = parse_backup_window(self.backup_window)
        except ValueError as error:
            raise _FieldError("backup_window", str(error)) from None
        try:
            maintenance = parse_maintenance_window(self.maintenance_window)
        except ValueError as error:
            raise _FieldError("maintenance_window", str(error)) from None
        if backup & maintenance:
            raise _FieldError(
                "maintenance_window",
                f"{self.maintenance_window} overlaps the daily backup window {self.backup_window}; "
                f"allowed: a weekly window outside {self.backup_window} UTC",
            )
        if len(set(self.log_exports)) != len(self.log_exports):
            raise _FieldError("log_exports", "names repeat; allowed: each of postgresql, iam-db-auth-error once")
        return self

    @property
    def serverless(self) -> bool:
        return self.instance_class == "db.serverless"

    @property
    def engine_major(self) -> int:
        return int(self.engine_version.split(".")[0])


class StorageConfig(Section):
    """`ai-platform:storage`: the S3 buckets (models, data, logs, exports) and their lifecycle."""

    infrequent_access_after_days: int = Field(
        30, ge=30, le=3650, description="Days before current objects move to STANDARD_IA (S3 minimum 30)."
    )
    glacier_ir_after_days: int = Field(
        90, ge=60, le=3650, description="Days before current objects move to GLACIER_IR (>= IA + 30, S3 rule)."
    )
    noncurrent_version_expiration_days: int = Field(
        90, ge=1, le=3650, description="Days a superseded object version is kept before it expires."
    )
    noncurrent_versions_to_keep: int = Field(
        3, ge=0, le=100, description="Newest superseded versions kept regardless of age."
    )
    abort_incomplete_multipart_days: int = Field(
        7, ge=1, le=365, description="Days before an unfinished multipart upload is aborted (its parts deleted)."
    )
    logs_expiration_days: int = Field(
        365, ge=1, le=3650, description="Days access logs are kept in the logs bucket."
    )
    exports_object_lock: bool = Field(
        False, description="Object Lock (WORM) on the database-exports bucket; can only be set when it is created."
    )
    exports_object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(
        "GOVERNANCE", description="Default Object Lock mode of the exports bucket."
    )
    exports_object_lock_days: int = Field(
        35, ge=1, le=36500, description="Default Object Lock retention of new export objects (days)."
    )
    protect: bool = Field(True, description="Pulumi `protect` on the buckets (no accidental destroy).")

    @model_validator(mode="after")
    def _check(self) -> StorageConfig:
        if self.glacier_ir_after_days < self.infrequent_access_after_days + 30:
            raise _FieldError(
                "glacier_ir_after_days",
                f"{self.glacier_ir_after_days} days is less than 30 days after the STANDARD_IA transition "
                f"({self.infrequent_access_after_days}); allowed: >= {self.infrequent_access_after_days + 30}",
            )
        if self.exports_object_lock and self.noncurrent_version_expiration_days < self.exports_object_lock_days:
            raise _FieldError(
                "noncurrent_version_expiration_days",
                f"{self.noncurrent_version_expiration_days} days expires versions still locked for "
                f"{self.exports_object_lock_days} days; allowed: >= exports_object_lock_days",
            )
        return self


class BackupConfig(Section):
    """`ai-platform:backup`: the AWS Backup plan (hourly, daily, weekly, monthly) and the vault lock."""

    hourly_retention_days: int = Field(2, ge=1, le=35, description="Retention of hourly recovery points (short).")
    daily_retention_days: int = Field(
        35, ge=1, le=36500, description="Retention of daily recovery points (<= 35 with continuous backup)."
    )
    weekly_retention_days: int = Field(90, ge=1, le=36500, description="Retention of weekly recovery points.")
    monthly_retention_days: int = Field(365, ge=1, le=36500, description="Retention of monthly recovery points.")
    monthly_cold_storage_after_days: int | None = Field(
        90, ge=1, le=36500, description="Days before monthly points move to cold storage (none: stay warm)."
    )
    continuous_backup: bool = Field(
        True, description="Point-in-time recovery (Aurora, S3) on the daily rule; its retention is at most 35 days."
    )
    vault_lock_mode: Literal["none", "governance", "compliance"] = Field(
        "none", description="Vault lock: none; governance (removable with IAM permission); compliance (immutable)."
    )
    vault_lock_min_retention_days: int = Field(
        1, ge=1, le=36500, description="Shortest retention a locked vault accepts (<= every rule's retention)."
    )
    vault_lock_max_retention_days: int = Field(
        400, ge=1, le=36500, description="Longest retention a locked vault accepts (>= every rule's retention)."
    )
    vault_lock_changeable_for_days: int = Field(
        7, ge=3, le=36500, description="Compliance mode: grace days before the lock becomes immutable (>= 3)."
    )
    protect: bool = Field(True, description="Pulumi `protect` on the vault (no accidental destroy).")

    def retentions(self) -> dict[str, int]:
        return {
            "hourly_retention_days": self.hourly_retention_days,
            "daily_retention_days": self.daily_retention_days,
            "weekly_retention_days": self.weekly_retention_days,
            "monthly_retention_days": self.monthly_retention_days,
        }

    @model_validator(mode="after")
    def _check(self) -> BackupConfig:
        cold = self.monthly_cold_storage_after_days
        if cold is not None and self.monthly_retention_days < cold + 90:
            raise _FieldError(
                "monthly_cold_storage_after_days",
                f"cold storage after {cold} days leaves {self.monthly_retention_days - cold} days before deletion "
                f"(monthly_retention_days {self.monthly_retention_days}); allowed: at most "
                f"{self.monthly_retention_days - 90} (AWS keeps cold recovery points >= 90 days)",
            )
        if self.continuous_backup and self.daily_retention_days > 35:
            raise _FieldError(
                "daily_retention_days",
                f"{self.daily_retention_days} days with continuous_backup; allowed: 1 to 35 (AWS PITR limit)",
            )
        if self.vault_lock_mode != "none":
            if self.vault_lock_min_retention_days > self.vault_lock_max_retention_days:
                raise _FieldError(
                    "vault_lock_min_retention_days", "above vault_lock_max_retention_days; allowed: min <= max"
                )
            for key, days in self.retentions().items():
                if days < self.vault_lock_min_retention_days:
                    raise _FieldError(
                        key,
                        f"{days} days is below the vault lock minimum {self.vault_lock_min_retention_days} "
                        f"(backups would fail); allowed: >= vault_lock_min_retention_days",
                    )
                if days > self.vault_lock_max_retention_days:
                    raise _FieldError(
                        key,
                        f"{days} days is above the vault lock maximum {self.vault_lock_max_retention_days} "
                        f"(backups would fail); allowed: <= vault_lock_max_retention_days",
                    )
        return self


# --- cluster and add-ons (issue 3) --------------------------------------------------------------------------------

# EKS Kubernetes versions the platform accepts. Default: the newest one in EKS standard support that every pinned
# add-on (EKS add-on builds, Karpenter) supports; see the README's "Cluster and add-ons".
# Versions in EKS standard support (checked 2026-11; the policy pack's `eks-supported-version` uses the same list).
EKS_VERSIONS: tuple[str, ...] = ("1.34", "1.35", "1.36", "1.37")
DEFAULT_EKS_VERSION = "1.34"
# The control-plane log types EKS offers; all of them are always on (CIS EKS 2.1.1).
EKS_LOG_TYPES: tuple[str, ...] = ("api", "audit", "authenticator", "controllerManager", "scheduler")
_EKS_ADDON_VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
_CHART_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_IAM_ROLE_NAME = re.compile(r"^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
# Label prefixes Kubernetes, EKS and Karpenter reserve, or that kubelet may not set on itself (NodeRestriction);
# node.kubernetes.io/ stays open to users.
_RESERVED_LABEL_PREFIXES = (
    "kubernetes.io/", "k8s.io/", "node-role.kubernetes.io/", "eks.amazonaws.com/",
    "karpenter.sh/", "karpenter.k8s.aws/",
)  # fmt: skip


def _check_eks_addon_version(version: str) -> str:
    if not _EKS_ADDON_VERSION.fullmatch(version):
        raise ValueError(f"{version!r} is not an EKS add-on version; allowed: e.g. v1.20.4-eksbuild.2")
    return version


def _check_chart_version(version: str) -> str:
    if not _CHART_VERSION.fullmatch(version):
        raise ValueError(f"{version!r} is not a pinned chart version; allowed: an exact MAJOR.MINOR.PATCH, e.g. 1.8.1")
    return version


def _check_public_cidr(cidr: str) -> str:
    try:
        return str(ipaddress.IPv4Network(cidr, strict=True))
    except (ValueError, TypeError) as error:
        raise ValueError(f"{cidr!r} is not an IPv4 network ({error}); allowed: e.g. 198.51.100.0/24") from None


def _check_role_name(name: str) -> str:
    if not _IAM_ROLE_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an IAM role name; allowed: a role name in this account, optionally with its path "
            "(e.g. platform-admin or aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123abcd)"
        )
    return name


def is_graviton(instance_type: str) -> bool:
    """Graviton (arm64) families carry a `g` after the generation digit: m7g, c7gn, r8gd, t4g, x2gd..."""
    family = instance_type.split(".")[0]
    return bool(re.fullmatch(r"[a-z]+\d+g[a-z]*", family)) and not family.startswith(("g", "p", "inf", "trn", "dl"))


EksAddonVersion = Annotated[str, AfterValidator(_check_eks_addon_version)]
ChartVersion = Annotated[str, AfterValidator(_check_chart_version)]
IamRoleName = Annotated[str, AfterValidator(_check_role_name)]


class NodeTaint(Section):
    """A Kubernetes taint on every node of a managed node group."""

    key: str = Field(description="Taint key (a Kubernetes label key).")
    value: str = Field("", description="Taint value (may be empty).")
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"] = Field(
        "NO_SCHEDULE", description="EKS taint effect."
    )

    @model_validator(mode="after")
    def _check(self) -> NodeTaint:
        if not _LABEL_KEY.fullmatch(self.key):
            raise _FieldError("key", f"{self.key!r} is not a label key; allowed: [prefix/]name, name <= 63 chars")
        if not _LABEL_VALUE.fullmatch(self.value):
            raise _FieldError("value", f"{self.value!r} is not a label value; allowed: <= 63 alphanumerics, - _ .")
        return self


class NodeGroupConfig(Section):
    """One EKS managed node group (nodes always in the private subnets, IMDSv2 only, encrypted gp3 root volume)."""

    instance_types: tuple[str, ...] = Field(
        ("m6i.large",), min_length=1, max_length=20,
        description="EC2 instance types, in order of preference (same vCPU/memory shape for predictable scaling).",
    )  # fmt: skip
    capacity_type: Literal["ON_DEMAND", "SPOT"] = Field("ON_DEMAND", description="ON_DEMAND or SPOT capacity.")
    ami_type: Literal["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"] = Field(
        "AL2023_x86_64_STANDARD", description="EKS-optimised Amazon Linux 2023 AMI family (x86_64 or arm64)."
    )
    min_size: int = Field(2, ge=0, le=450, description="Minimum node count.")
    desired_size: int = Field(2, ge=0, le=450, description="Node count at creation; autoscaling owns it later.")
    max_size: int = Field(4, ge=1, le=450, description="Maximum node count.")
    disk_size_gib: int = Field(50, ge=20, le=16384, description="Root volume size (encrypted gp3), GiB.")
    max_unavailable_percent: int = Field(33, ge=1, le=100, description="Share of nodes replaced at once on update.")
    labels: dict[str, str] = Field(default_factory=dict, description="Kubernetes labels on every node.")
    taints: tuple[NodeTaint, ...] = Field((), description="Kubernetes taints on every node.")

    @model_validator(mode="after")
    def _check(self) -> NodeGroupConfig:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise _FieldError(
                "desired_size",
                f"min_size {self.min_size} <= desired_size {self.desired_size} <= max_size {self.max_size} does not "
                "hold; allowed: min_size <= desired_size <= max_size",
            )
        bad = [t for t in self.instance_types if not _INSTANCE_TYPE.fullmatch(t)]
        if bad:
            raise _FieldError("instance_types", f"{', '.join(bad)} not EC2 instance types; allowed: e.g. m6i.large")
        arm = self.ami_type == "AL2023_ARM_64_STANDARD"
        mismatched = [t for t in self.instance_types if is_graviton(t) != arm]
        if mismatched:
            raise _FieldError(
                "instance_types",
                f"{', '.join(mismatched)} do not run {self.ami_type}; allowed: Graviton types (m7g, c7g...) with "
                "AL2023_ARM_64_STANDARD, x86_64 types with AL2023_x86_64_STANDARD",
            )
        for key, value in self.labels.items():
            if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
                raise _FieldError("labels", f"{key}={value!r} is not a valid label; allowed: Kubernetes label syntax")
            if key.startswith(_RESERVED_LABEL_PREFIXES):
                raise _FieldError(
                    "labels", f"{key} uses a reserved prefix; allowed: outside {', '.join(_RESERVED_LABEL_PREFIXES)}"
                )
        return self


class EksAddonVersions(Section):
    """Pinned EKS managed add-on versions (`aws eks describe-addon-versions --kubernetes-version <v>`)."""

    vpc_cni: EksAddonVersion = Field("v1.20.4-eksbuild.2", description="vpc-cni (network policy enforcement on).")
    kube_proxy: EksAddonVersion = Field("v1.34.1-eksbuild.2", description="kube-proxy; same minor as the cluster.")
    coredns: EksAddonVersion = Field("v1.12.3-eksbuild.1", description="coredns.")
    ebs_csi_driver: EksAddonVersion = Field("v1.48.0-eksbuild.2", description="aws-ebs-csi-driver (own IRSA role).")


class ClusterConfig(Section):
    """`ai-platform:cluster`: the EKS control plane, who administers it, its node groups and core add-ons."""

    version: str = Field(DEFAULT_EKS_VERSION, description="Kubernetes version of the control plane and node groups.")
    support_type: Literal["STANDARD", "EXTENDED"] = Field(
        "STANDARD", description="EKS upgrade policy: STANDARD (auto-upgraded when support ends) or EXTENDED (paid)."
    )
    endpoint_public_access: bool = Field(False, description="Public API endpoint (private access is always on).")
    public_access_cidrs: tuple[Annotated[str, AfterValidator(_check_public_cidr)], ...] = Field(
        (), description="CIDRs allowed to reach the public endpoint; required when endpoint_public_access is on."
    )
    allow_public_endpoint_from_anywhere: bool = Field(
        False, description="Explicit opt-in to 0.0.0.0/0 in public_access_cidrs (the policy pack still flags it)."
    )
    admin_roles: tuple[IamRoleName, ...] = Field(
        ("platform-admin",), min_length=1,
        description="IAM role names (this account, optional path) granted cluster admin by EKS access entries.",
    )  # fmt: skip
    viewer_roles: tuple[IamRoleName, ...] = Field(
        (), description="IAM role names granted read-only cluster access (AmazonEKSViewPolicy)."
    )
    log_retention_days: LogRetentionDays = Field(365, description="Retention of the control-plane log group.")
    deletion_protection: bool = Field(True, description="EKS deletion protection on the cluster.")
    imds_hop_limit: int = Field(
        1, ge=1, le=2, description="IMDSv2 hop limit on nodes: 1 keeps pods (which use IRSA) off the node role."
    )
    node_groups: dict[str, NodeGroupConfig] = Field(
        default_factory=lambda: {"system": NodeGroupConfig()},
        description="Managed node groups keyed by name; a `system` group (for add-ons) is required.",
    )
    addon_versions: EksAddonVersions = Field(default_factory=EksAddonVersions, description="EKS add-on versions.")

    @model_validator(mode="after")
    def _check(self) -> ClusterConfig:
        if self.version not in EKS_VERSIONS:
            raise _FieldError("version", f"{self.version!r} is not supported; allowed: {', '.join(EKS_VERSIONS)}")
        proxy_minor = ".".join(self.addon_versions.kube_proxy.removeprefix("v").split(".")[:2])
        if proxy_minor != self.version:
            raise _FieldError(
                "addon_versions.kube_proxy",
                f"{self.addon_versions.kube_proxy} is for Kubernetes {proxy_minor} but the cluster runs "
                f"{self.version}; allowed: a build v{self.version}.x-eksbuild.N",
            )
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise _FieldError(
                "public_access_cidrs", "endpoint_public_access is on but no CIDRs are listed; allowed: operator CIDRs"
            )
        if not self.endpoint_public_access and self.public_access_cidrs:
            raise _FieldError(
                "public_access_cidrs", "CIDRs listed but endpoint_public_access is off; allowed: [] or turn it on"
            )
        world = [c for c in self.public_access_cidrs if ipaddress.IPv4Network(c).prefixlen == 0]
        if world and not self.allow_public_endpoint_from_anywhere:
            raise _FieldError(
                "public_access_cidrs",
                f"{', '.join(world)} opens the Kubernetes API to the internet; allowed: specific CIDRs, or set "
                "allow_public_endpoint_from_anywhere: true",
            )
        if "system" not in self.node_groups:
            raise _FieldError(
                "node_groups",
                f"no `system` group (got {', '.join(self.node_groups) or 'none'}); allowed: a map with `system`",
            )
        for key in self.node_groups:
            if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", key):
                raise _FieldError("node_groups", f"{key!r} is not a group key; allowed: [a-z][a-z0-9-], <= 20 chars")
        both = sorted(set(self.admin_roles) & set(self.viewer_roles))
        if both:
            raise _FieldError("viewer_roles", f"{', '.join(both)} also in admin_roles; allowed: disjoint lists")
        return self


class HelmAddonConfig(Section):
    """An add-on installed from its official Helm chart at a pinned version."""

    enabled: bool = Field(True, description="Install this add-on.")
    chart_version: ChartVersion = Field("0.0.0", description="Exact chart version (set by each add-on's model).")
    replicas: int = Field(2, ge=1, le=5, description="Controller replicas (2+ are spread over nodes and zones).")


class LoadBalancerControllerConfig(HelmAddonConfig):
    """AWS Load Balancer Controller (chart `aws-load-balancer-controller`, https://aws.github.io/eks-charts)."""

    chart_version: ChartVersion = Field("1.13.0", description="Exact chart version.")


class MetricsServerConfig(HelmAddonConfig):
    """metrics-server (chart `metrics-server`, https://kubernetes-sigs.github.io/metrics-server)."""

    chart_version: ChartVersion = Field("3.12.2", description="Exact chart version.")


class VpaConfig(HelmAddonConfig):
    """Vertical Pod Autoscaler, recommender only (chart `vertical-pod-autoscaler`, https://kubernetes.github.io/autoscaler)."""

    chart_version: ChartVersion = Field("0.8.1", description="Exact chart version.")
    # Two recommenders without leader election would write competing recommendations; one that restarts resumes
    # from its VerticalPodAutoscalerCheckpoints, and nothing on the request path depends on it.
    replicas: int = Field(1, ge=1, le=1, description="Recommender replicas: exactly 1.")


class ExternalSecretsConfig(HelmAddonConfig):
    """external-secrets (chart `external-secrets`, https://charts.external-secrets.io)."""

    chart_version: ChartVersion = Field("1.3.2", description="Exact chart version.")


class ArgoRolloutsConfig(HelmAddonConfig):
    """Argo Rollouts (chart `argo-rollouts`, https://argoproj.github.io/argo-helm)."""

    chart_version: ChartVersion = Field("2.40.1", description="Exact chart version.")


class KarpenterConfig(HelmAddonConfig):
    """Karpenter: node autoscaling for workloads (the `system` node group only runs add-ons)."""

    chart_version: ChartVersion = Field("1.8.1", description="Exact karpenter chart version.")
    capacity_types: tuple[Literal["on-demand", "spot"], ...] = Field(
        ("on-demand",), min_length=1, description="Capacity types the default NodePool may launch."
    )
    instance_categories: tuple[Literal["c", "m", "r", "t"], ...] = Field(
        ("c", "m", "r"), min_length=1, description="EC2 instance categories the default NodePool may launch."
    )
    architectures: tuple[Literal["amd64", "arm64"], ...] = Field(("amd64",), min_length=1, description="CPU types.")
    ami_alias: str = Field(
        "al2023@latest", pattern=r"^al2023@(latest|v\d{8})$",
        description="EKS-optimised AL2023 AMI for Karpenter nodes: al2023@latest, or pinned as al2023@vYYYYMMDD.",
    )  # fmt: skip
    cpu_limit: int = Field(64, ge=1, le=100000, description="Total vCPUs the default NodePool may own (cost ceiling).")
    memory_limit_gib: int = Field(256, ge=1, le=400000, description="Total memory (GiB) the default NodePool may own.")
    consolidate_after: str = Field("5m", pattern=r"^\d+[smh]$", description="Wait before consolidating a node.")
    expire_after: str = Field("720h", pattern=r"^\d+h$", description="Maximum node lifetime (forces AMI refresh).")
    disruption_budget: str = Field(
        "10%", pattern=r"^(\d+|\d{1,3}%)$", description="Nodes (count or %) Karpenter may disrupt at once."
    )


# Newest Kubernetes minor each Karpenter minor supports (karpenter.sh compatibility matrix, checked 2026-11). Karpenter
# on a newer cluster is unsupported and may fail to launch nodes; minors not listed (newer releases) are not judged.
KARPENTER_MAX_KUBERNETES: dict[str, str] = {
    "1.5": "1.33", "1.6": "1.34", "1.7": "1.34", "1.8": "1.34", "1.9": "1.35", "1.10": "1.35", "1.11": "1.35",
}  # fmt: skip


def _minor_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


class AddonsConfig(Section):
    """`ai-platform:addons`: the Helm-installed cluster add-ons, each switchable per stack."""

    load_balancer_controller: LoadBalancerControllerConfig = Field(
        default_factory=LoadBalancerControllerConfig, description="AWS Load Balancer Controller."
    )
    karpenter: KarpenterConfig = Field(default_factory=KarpenterConfig, description="Karpenter and its NodePool.")
    metrics_server: MetricsServerConfig = Field(default_factory=MetricsServerConfig, description="metrics-server.")
    vpa: VpaConfig = Field(default_factory=VpaConfig, description="Vertical Pod Autoscaler (recommender).")
    external_secrets: ExternalSecretsConfig = Field(
        default_factory=ExternalSecretsConfig, description="external-secrets and its ClusterSecretStore."
    )
    argo_rollouts: ArgoRolloutsConfig = Field(default_factory=ArgoRolloutsConfig, description="Argo Rollouts.")


# --- ai-api workload ---------------------------------------------------------------------------------------------

DeliveryStrategy = Literal["rolling", "blue-green", "canary"]
# Image tags that name a moving target (a branch or a channel, not a build): never deployed outside dev.
MUTABLE_IMAGE_TAGS = frozenset(
    {"latest", "main", "master", "develop", "dev", "head", "edge", "nightly", "stable", "staging", "prod",
     "production", "release", "current", "canary", "test", "snapshot"}
)  # fmt: skip
# ALB TLS policies that allow only TLS 1.2+ with forward-secret AEAD ciphers (TLS 1.3 where supported).
ALB_SSL_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
)
# Rules of AWSManagedRulesCommonRuleSet that may be switched to count (an AI API takes large prompt bodies).
WAF_COMMON_RULES = (
    "NoUserAgent_HEADER", "UserAgent_BadBots_HEADER", "SizeRestrictions_QUERYSTRING", "SizeRestrictions_Cookie_HEADER",
    "SizeRestrictions_BODY", "SizeRestrictions_URIPATH", "EC2MetaDataSSRF_BODY", "EC2MetaDataSSRF_COOKIE",
    "EC2MetaDataSSRF_URIPATH", "EC2MetaDataSSRF_QUERYARGUMENTS", "GenericLFI_QUERYARGUMENTS", "GenericLFI_URIPATH",
    "GenericLFI_BODY", "RestrictedExtensions_URIPATH", "RestrictedExtensions_QUERYARGUMENTS",
    "GenericRFI_QUERYARGUMENTS", "GenericRFI_BODY", "GenericRFI_URIPATH", "CrossSiteScripting_COOKIE",
    "CrossSiteScripting_QUERYARGUMENTS", "CrossSiteScripting_BODY", "CrossSiteScripting_URIPATH",
)  # fmt: skip
_CPU_UNITS = {"": 1000.0, "m": 1.0}
_MEMORY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
                 "Ti": 2**40}  # fmt: skip
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "DATABASE_URL")


def cpu_millicores(quantity: str) -> float:
    """A Kubernetes CPU quantity (`250m`, `0.5`, `2`) in millicores; ValueError when it is not one."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", quantity) if isinstance(quantity, str) else None
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"{quantity!r} is not a CPU quantity; allowed: millicores like 250m or cores like 0.5, > 0")
    return float(match[1]) * _CPU_UNITS[match[2]]


def memory_bytes(quantity: str) -> float:
    """A Kubernetes memory quantity (`512Mi`, `1Gi`, `1G`) in bytes; ValueError when it is not one."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", quantity) if isinstance(quantity, str) else None
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"{quantity!r} is not a memory quantity; allowed: e.g. 512Mi, 1Gi, 1G (> 0)")
    return float(match[1]) * _MEMORY_UNITS[match[2] or ""]


def _check_cpu(quantity: str) -> str:
    cpu_millicores(quantity)
    return quantity


def _check_memory(quantity: str) -> str:
    memory_bytes(quantity)
    return quantity


def _check_int_or_percent(value: int | str) -> int | str:
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"(100|[1-9]?\d)%", value):
        return value
    raise ValueError(f"{value!r} is not a count or a percentage; allowed: an integer >= 0 or 0%-100%")


def _check_namespace(name: str) -> str:
    if not re.fullmatch(_DNS_LABEL, name) or name == "default" or name.startswith("kube-"):
        raise ValueError(f"{name!r} is not a usable namespace; allowed: a DNS label, not default or kube-*")
    return name


def _check_hostname(name: str) -> str:
    labels = name.split(".") if isinstance(name, str) else []
    if len(labels) < 2 or len(name) > 253 or not all(re.fullmatch(_DNS_LABEL, label) for label in labels):
        raise ValueError(f"{name!r} is not a DNS name; allowed: a lowercase fully qualified name like api.example.com")
    return name


def _check_certificate_arn(arn: str) -> str:
    pattern = r"arn:aws(-cn|-us-gov)?:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}"
    if not isinstance(arn, str) or not re.fullmatch(pattern, arn):
        raise ValueError(
            f"{arn!r} is not an ACM certificate ARN; allowed: arn:aws:acm:<region>:<12-digit account>:certificate/<id>"
        )
    return arn


def _check_prometheus_address(url: str) -> str:
    if not isinstance(url, str) or not re.fullmatch(r"https?://[a-z0-9.-]+(:\d{1,5})?(/[\w./-]*)?", url):
        raise ValueError(f"{url!r} is not a Prometheus URL; allowed: http(s)://host[:port][/path]")
    return url.rstrip("/")


def _check_go_duration(text: str) -> str:
    if not isinstance(text, str) or not re.fullmatch(r"(\d+h)?(\d+m)?(\d+s)?", text) or not text:
        raise ValueError(f"{text!r} is not a duration; allowed: e.g. 30s, 15m, 1h")
    return text


def _check_settings(settings: dict[str, str]) -> dict[str, str]:
    for key in settings:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise ValueError(f"{key!r} is not an environment variable name; allowed: [A-Z][A-Z0-9_]*")
        if any(word in key for word in _SECRET_WORDS):
            raise ValueError(
                f"{key} looks like a secret, which never goes in stack config; allowed: non-secret settings "
                "(secrets come from AWS Secrets Manager through external-secrets)"
            )
    return settings


def _check_flags(flags: dict[str, str | bool | int]) -> dict[str, str | bool | int]:
    for key, value in flags.items():
        if not re.fullmatch(r"[a-zA-Z0-9_.-]{1,128}", key):
            raise ValueError(f"flag {key!r} is not a parameter name; allowed: [a-zA-Z0-9_.-], 1-128 chars")
        if isinstance(value, str) and not 1 <= len(value) <= 4096:
            raise ValueError(
                f"flag {key} value must be 1-4096 characters; allowed: a short string, true/false or a number"
            )
    return flags


CpuQuantity = Annotated[str, AfterValidator(_check_cpu)]
MemoryQuantity = Annotated[str, AfterValidator(_check_memory)]
IntOrPercent = Annotated[int | str, AfterValidator(_check_int_or_percent)]


class ApiRequests(Section):
    """What the scheduler reserves per pod (and what the HPA's CPU target is relative to)."""

    cpu: CpuQuantity = Field("250m", description="CPU request, e.g. 250m or 0.5.")
    memory: MemoryQuantity = Field("512Mi", description="Memory request, e.g. 512Mi or 1Gi.")


class ApiLimits(Section):
    """The most a pod may use (CPU is throttled above it; memory above it is an OOM kill)."""

    cpu: CpuQuantity = Field("500m", description="CPU limit.")
    memory: MemoryQuantity = Field("1Gi", description="Memory limit.")


class ApiResourcesConfig(Section):
    """Requests and limits of the ai-api container (Kubernetes quantities); each key can be set on its own."""

    requests: ApiRequests = Field(default_factory=ApiRequests, description="Requests per pod.")
    limits: ApiLimits = Field(default_factory=ApiLimits, description="Limits per pod.")

    @model_validator(mode="after")
    def _check(self) -> ApiResourcesConfig:
        if cpu_millicores(self.requests.cpu) > cpu_millicores(self.limits.cpu):
            raise _FieldError(
                "requests.cpu", f"{self.requests.cpu} exceeds limits.cpu {self.limits.cpu}; allowed: <= the limit"
            )
        if memory_bytes(self.requests.memory) > memory_bytes(self.limits.memory):
            raise _FieldError(
                "requests.memory",
                f"{self.requests.memory} exceeds limits.memory {self.limits.memory}; allowed: <= the limit",
            )
        return self


class ApiImageConfig(Section):
    """The ai-api image in the project's ECR repository: an immutable tag, a digest, or both (digest wins)."""

    tag: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", description="Image tag, e.g. 1.4.2 or a git SHA."
    )
    digest: str | None = Field(None, pattern=r"^sha256:[0-9a-f]{64}$", description="Image digest sha256:<64 hex>.")

    @field_validator("tag", mode="before")
    @classmethod
    def _tag_is_text(cls, tag: Any) -> Any:
        if isinstance(tag, int | float) and not isinstance(tag, bool):
            raise ValueError(f"{tag!r} was read as a number (YAML); allowed: the tag quoted, e.g. '{tag}'")
        return tag

    @model_validator(mode="after")
    def _check(self) -> ApiImageConfig:
        if self.tag is None and self.digest is None:
            raise _FieldError("tag", "neither tag nor digest is set; allowed: an immutable tag and/or sha256:<64 hex>")
        return self


class ApiHpaConfig(Section):
    """HorizontalPodAutoscaler: replica bounds, CPU target and how fast it scales each way."""

    min_replicas: int = Field(3, ge=1, le=100, description="Fewest pods.")
    max_replicas: int = Field(12, ge=1, le=500, description="Most pods (a cost ceiling).")
    cpu_target_percent: int = Field(70, ge=1, le=100, description="Average CPU utilisation (of requests) to hold.")
    scale_up_stabilization_seconds: int = Field(0, ge=0, le=3600, description="Look-back before scaling up.")
    scale_down_stabilization_seconds: int = Field(300, ge=0, le=3600, description="Look-back before scaling down.")
    scale_up_percent: int = Field(100, ge=1, le=1000, description="Most pods added per period, as % of current.")
    scale_down_percent: int = Field(10, ge=1, le=100, description="Most pods removed per period, as % of current.")
    period_seconds: int = Field(60, ge=1, le=1800, description="Period of the scale-up/down policies.")

    @model_validator(mode="after")
    def _check(self) -> ApiHpaConfig:
        if self.min_replicas > self.max_replicas:
            raise _FieldError(
                "min_replicas",
                f"{self.min_replicas} exceeds max_replicas {self.max_replicas}; allowed: <= max_replicas",
            )
        return self


class ApiRollingConfig(Section):
    """`rolling` strategy: a Deployment's rolling update."""

    max_surge: IntOrPercent = Field("25%", description="Extra pods during an update (count or %).")
    max_unavailable: IntOrPercent = Field(0, description="Pods that may be unavailable during an update.")

    @model_validator(mode="after")
    def _check(self) -> ApiRollingConfig:
        if self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            raise _FieldError("max_surge", "max_surge and max_unavailable are both 0; allowed: at least one above 0")
        return self


class ApiCanaryConfig(Section):
    """`canary` strategy: pauses after the 5%, 25% and 50% traffic steps (100% follows the last pause)."""

    pause_minutes: tuple[int, int, int] = Field(
        (5, 10, 10), description="Minutes to hold at 5%, 25% and 50% (each 1-1440) while analysis runs."
    )

    @model_validator(mode="after")
    def _check(self) -> ApiCanaryConfig:
        if not all(1 <= minutes <= 1440 for minutes in self.pause_minutes):
            raise _FieldError("pause_minutes", f"{list(self.pause_minutes)} out of range; allowed: three values 1-1440")
        return self


class ApiBlueGreenConfig(Section):
    """`blue-green` strategy: preview stack, promotion and how long the old version stays up."""

    auto_promotion: bool = Field(False, description="Promote automatically once the pre-promotion analysis passes.")
    scale_down_delay_seconds: int = Field(
        1800, ge=30, le=86400, description="How long the old version keeps running after promotion (instant rollback)."
    )
    preview_replicas: int | None = Field(
        None, ge=1, le=100, description="Pods of the preview version before promotion; default: as many as active."
    )


class ApiAnalysisConfig(Section):
    """The Prometheus analysis that gates canary steps and blue-green promotion."""

    interval_seconds: int = Field(60, ge=15, le=600, description="Time between measurements.")
    failure_limit: int = Field(1, ge=0, le=10, description="Failed measurements tolerated before aborting.")
    success_rate_min: float = Field(0.99, gt=0, le=1, description="Lowest share of non-5xx responses (0-1].")
    p99_latency_max_seconds: float = Field(1.0, gt=0, le=120, description="Highest p99 request latency (seconds).")
    prepromotion_measurements: int = Field(5, ge=1, le=60, description="Measurements of the blue-green analysis.")
    request_metric: str = Field(
        "http_requests_total", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", description="Counter of requests (label `code`)."
    )
    latency_metric: str = Field(
        "http_request_duration_seconds", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$",
        description="Histogram of request latency in seconds (without `_bucket`).",
    )  # fmt: skip


class ApiWafConfig(Section):
    """The regional WAF web ACL in front of the ALB."""

    rate_limit: int = Field(2000, ge=10, le=2_000_000_000, description="Requests per IP per window before blocking.")
    rate_limit_window_seconds: Literal[60, 120, 300, 600] = Field(300, description="Window of the rate-based rule.")
    common_rules_count_only: tuple[str, ...] = Field(
        ("SizeRestrictions_BODY",),
        description="Common-rule-set rules that only count (bodies over 8 KB are normal for prompts).",
    )
    log_retention_days: LogRetentionDays = Field(365, description="Retention of the WAF log group.")

    @model_validator(mode="after")
    def _check(self) -> ApiWafConfig:
        unknown = [rule for rule in self.common_rules_count_only if rule not in WAF_COMMON_RULES]
        if unknown:
            raise _FieldError(
                "common_rules_count_only",
                f"{', '.join(unknown)} not in the common rule set; allowed: {', '.join(WAF_COMMON_RULES)}",
            )
        return self


class ApiEcrConfig(Section):
    """The ai-api ECR repository."""

    keep_last_images: int = Field(50, ge=1, le=10000, description="Images kept; older ones expire (lifecycle policy).")
    untagged_expire_days: int = Field(7, ge=1, le=365, description="Days before untagged images expire.")
    mutable_tag_filters: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9._*-]{1,128}$")], ...] = Field(
        (), description="Tag patterns exempt from immutability (IMMUTABLE_WITH_EXCLUSION), e.g. latest in dev."
    )
    protect: bool = Field(True, description="Pulumi `protect` on the repository (its images are releases).")


class ApiConfig(Section):
    """`ai-platform:api`: the ai-api workload, its release strategy, edge (ALB, TLS, WAF) and image."""

    namespace: Annotated[str, AfterValidator(_check_namespace)] = Field("ai-api", description="Kubernetes namespace.")
    strategy: DeliveryStrategy = Field("canary", description="Release strategy: rolling, blue-green or canary.")
    replicas: int = Field(3, ge=1, le=100, description="Pods at creation (the HPA moves them within its bounds).")
    image: ApiImageConfig = Field(description="Image tag and/or digest in the project's ECR repository (required).")
    resources: ApiResourcesConfig = Field(default_factory=ApiResourcesConfig, description="Requests and limits.")
    hpa: ApiHpaConfig = Field(default_factory=ApiHpaConfig, description="Horizontal pod autoscaling.")
    pdb_max_unavailable: IntOrPercent = Field(
        1, description="PodDisruptionBudget: pods a voluntary disruption may take (count or %)."
    )
    rolling: ApiRollingConfig = Field(default_factory=ApiRollingConfig, description="`rolling` strategy settings.")
    canary: ApiCanaryConfig = Field(default_factory=ApiCanaryConfig, description="`canary` strategy settings.")
    blue_green: ApiBlueGreenConfig = Field(default_factory=ApiBlueGreenConfig, description="`blue-green` settings.")
    analysis: ApiAnalysisConfig = Field(default_factory=ApiAnalysisConfig, description="Release analysis thresholds.")
    prometheus_address: Annotated[str, AfterValidator(_check_prometheus_address)] = Field(
        "http://prometheus-operated.monitoring.svc:9090", description="Prometheus the analysis queries."
    )
    monitoring_namespace: Annotated[str, AfterValidator(_check_namespace)] = Field(
        "monitoring", description="Namespace whose pods may scrape the ai-api pods (network policy)."
    )
    domain_name: Annotated[str, AfterValidator(_check_hostname)] = Field(description="Public host name of the API.")
    certificate_arn: Annotated[str, AfterValidator(_check_certificate_arn)] = Field(
        description="ACM certificate (same region as the stack) covering domain_name."
    )
    ssl_policy: Literal[ALB_SSL_POLICIES] = Field(  # type: ignore[valid-type]
        "ELBSecurityPolicy-TLS13-1-2-2021-06", description="ALB TLS policy (TLS 1.2+ only)."
    )
    waf: ApiWafConfig = Field(default_factory=ApiWafConfig, description="WAF web ACL.")
    ecr: ApiEcrConfig = Field(default_factory=ApiEcrConfig, description="ECR repository.")
    feature_flags: Annotated[dict[str, str | bool | int], AfterValidator(_check_flags)] = Field(
        default_factory=dict, description="Flags written to SSM under /ai-platform/<stack>/ai-api/flags/<name>."
    )
    settings: Annotated[dict[str, str], AfterValidator(_check_settings)] = Field(
        default_factory=lambda: {"LOG_LEVEL": "info"}, description="Non-secret environment (ConfigMap)."
    )
    database_sslmode: Literal["require", "verify-ca", "verify-full"] = Field(
        "verify-full", description="libpq sslmode in DATABASE_URL (TLS is always required)."
    )
    database_ca_bundle_path: str = Field(
        "/etc/ssl/certs/rds-global-bundle.pem", pattern=r"^/[\w./-]+$",
        description="Path of the RDS CA bundle in the image (sslrootcert; verify-ca/verify-full).",
    )  # fmt: skip
    secret_refresh_interval: Annotated[str, AfterValidator(_check_go_duration)] = Field(
        "15m", description="How often external-secrets re-reads the database secret."
    )
    zone_spread: Literal["DoNotSchedule", "ScheduleAnyway"] = Field(
        "DoNotSchedule", description="Spread across zones strictly (DoNotSchedule) or best effort."
    )
    termination_grace_period_seconds: int = Field(60, ge=10, le=3600, description="Time to drain before SIGKILL.")
    pre_stop_sleep_seconds: int = Field(
        15, ge=1, le=600, description="preStop sleep: the ALB stops routing before the app gets SIGTERM."
    )
    run_as_user: int = Field(10001, ge=1000, le=2**31 - 1, description="UID (and GID) the container runs as.")
    idle_timeout_seconds: int = Field(
        120, ge=1, le=4000, description="ALB idle timeout: longest silence in a response (streamed completions)."
    )
    load_balancer_deletion_protection: bool = Field(True, description="ALB deletion protection.")

    @model_validator(mode="after")
    def _check(self) -> ApiConfig:
        if self.pre_stop_sleep_seconds >= self.termination_grace_period_seconds:
            raise _FieldError(
                "pre_stop_sleep_seconds",
                f"{self.pre_stop_sleep_seconds}s leaves no time to shut down within termination_grace_period_seconds "
                f"{self.termination_grace_period_seconds}; allowed: less than the grace period",
            )
        if not self.hpa.min_replicas <= self.replicas <= self.hpa.max_replicas:
            raise _FieldError(
                "replicas",
                f"{self.replicas} outside the HPA bounds {self.hpa.min_replicas}-{self.hpa.max_replicas}; "
                "allowed: hpa.min_replicas <= replicas <= hpa.max_replicas",
            )
        return self

    @property
    def feature_flag_values(self) -> dict[str, str]:
        """Flags as the strings SSM stores (booleans lowercase, as JSON would write them)."""
        return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in self.feature_flags.items()}


class StackConfig(Section):
    """The whole validated configuration of one stack."""

    stack: str = Field(description="Stack name (from the stack file name).")
    environment: Environment = Field(description="`ai-platform:environment`: selects the defaults.")
    region: Annotated[str, AfterValidator(_check_region)] = Field(description="`aws:region`: the primary region.")
    tags: Annotated[dict[str, str], AfterValidator(_check_tags)] = Field(
        description="`ai-platform:tags`: extra tags; must include owner and cost-center."
    )
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    api: ApiConfig | None = Field(
        None, description="`ai-platform:api`: the ai-api workload; a stack without this section runs no workload."
    )

    @model_validator(mode="after")
    def _check(self) -> StackConfig:
        azs = self.network.availability_zones or ()
        wrong = [az for az in azs if not re.fullmatch(rf"{re.escape(self.region)}[a-z]", az)]
        if wrong:
            raise _FieldError(
                "network.availability_zones",
                f"{', '.join(wrong)} not in region {self.region}; allowed: {self.region}a, {self.region}b, ...",
            )
        karpenter = self.addons.karpenter
        karpenter_minor = ".".join(karpenter.chart_version.split(".")[:2])
        newest = KARPENTER_MAX_KUBERNETES.get(karpenter_minor)
        if karpenter.enabled and newest and _minor_tuple(self.cluster.version) > _minor_tuple(newest):
            raise _FieldError(
                "addons.karpenter.chart_version",
                f"Karpenter {karpenter.chart_version} supports Kubernetes up to {newest} but cluster.version is "
                f"{self.cluster.version}; allowed: a Karpenter release supporting {self.cluster.version}",
            )
        if self.backup.continuous_backup and self.database.backup_retention_days != self.backup.daily_retention_days:
            # AWS Backup's continuous backup takes over the cluster's automated-backup retention: two values drift.
            raise _FieldError(
                "database.backup_retention_days",
                f"{self.database.backup_retention_days} days differs from backup.daily_retention_days "
                f"{self.backup.daily_retention_days} while backup.continuous_backup is on; allowed: the same value",
            )
        if self.api is not None:
            self._check_api(self.api)
        return self

    def _check_api(self, api: ApiConfig) -> None:
        """Rules of `ai-platform:api` that depend on the environment, the region or the add-ons."""
        tag = api.image.tag
        if self.environment != "dev" and tag is not None and tag.lower() in MUTABLE_IMAGE_TAGS:
            raise _FieldError(
                "api.image.tag",
                f"{tag!r} is a moving tag, never deployed to {self.environment}; allowed: an immutable tag "
                "(a version like 1.4.2 or a git SHA) or image.digest sha256:<64 hex>",
            )
        if self.environment != "dev" and api.ecr.mutable_tag_filters:
            raise _FieldError(
                "api.ecr.mutable_tag_filters",
                f"mutable tags in {self.environment} would let a release change under the same tag; allowed: []",
            )
        if self.environment == "prod" and api.blue_green.auto_promotion:
            raise _FieldError(
                "api.blue_green.auto_promotion", "prod releases are promoted by a person; allowed: false in prod"
            )
        certificate_region = api.certificate_arn.split(":")[3]
        if certificate_region != self.region:
            raise _FieldError(
                "api.certificate_arn",
                f"certificate is in {certificate_region} but the ALB is in {self.region}; "
                f"allowed: an ACM certificate in {self.region}",
            )
        if api.strategy != "rolling" and not self.addons.argo_rollouts.enabled:
            raise _FieldError(
                "api.strategy",
                f"{api.strategy!r} needs Argo Rollouts but ai-platform:addons.argo_rollouts.enabled is false; "
                "allowed: 'rolling', or enable addons.argo_rollouts",
            )
        if not self.addons.external_secrets.enabled:
            raise _FieldError(
                "api",
                "the ai-api reads DATABASE_URL through external-secrets but ai-platform:addons.external_secrets."
                "enabled is false; allowed: enable addons.external_secrets",
            )
        if not self.addons.load_balancer_controller.enabled:
            raise _FieldError(
                "api",
                "the ai-api ingress needs the AWS Load Balancer Controller but ai-platform:addons."
                "load_balancer_controller.enabled is false; allowed: enable addons.load_balancer_controller",
            )

    def mandatory_tags(self) -> dict[str, str]:
        """The stack-wide tags every taggable resource carries (the `component` tag is added per component)."""
        return {**self.tags, "project": PROJECT, "stack": self.stack, "environment": self.environment,
                "managed-by": "pulumi"}  # fmt: skip


# The add-ons of `ai-platform:addons`, in install order.
ADDON_KEYS: tuple[str, ...] = tuple(AddonsConfig.model_fields)
# Staging and prod run two replicas of every controller that elects a leader (the VPA recommender does not).
_HA_ADDONS: dict[str, Any] = {name: {"replicas": 2} for name in ADDON_KEYS if name != "vpa"}

# Defaults per environment, merged under the stack file's own values. Keys and shapes mirror the models above.
ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "network": {
            "az_count": 2,
            "nat_strategy": "single",
            "flow_logs_retention_days": 30,
            "interface_endpoints": [],
        },
        "identity": {"kms_deletion_window_days": 7},
        "cluster": {
            "log_retention_days": 30, "deletion_protection": False,
            "node_groups": {"system": {"instance_types": ["m6i.large"], "min_size": 2, "desired_size": 2, "max_size": 3,
                                       "labels": {"node.kubernetes.io/pool": "system"},
                                       "taints": [{"key": "CriticalAddonsOnly", "value": "true"}]}},
        },
        "addons": {name: {"replicas": 1} for name in ADDON_KEYS} | {"karpenter": {"replicas": 1, "cpu_limit": 32,
                   "memory_limit_gib": 128, "capacity_types": ["spot", "on-demand"], "consolidate_after": "1m"}},
        "database": {
            "serverless_min_capacity": 0, "serverless_max_capacity": 4, "auto_pause_after_seconds": 900,
            "reader_count": 0, "backup_retention_days": 1, "deletion_protection": False, "final_snapshot": False,
            "protect": False, "log_retention_days": 30,
        },
        "storage": {"noncurrent_version_expiration_days": 30, "noncurrent_versions_to_keep": 1,
                    "logs_expiration_days": 90, "protect": False},
        "backup": {
            "hourly_retention_days": 1, "daily_retention_days": 7, "weekly_retention_days": 28,
            "monthly_retention_days": 90, "monthly_cold_storage_after_days": None, "continuous_backup": False,
            "vault_lock_mode": "none", "protect": False,
        },
        "api": {
            "strategy": "rolling", "replicas": 1, "hpa": {"min_replicas": 1, "max_replicas": 3},
            "zone_spread": "ScheduleAnyway", "settings": {"LOG_LEVEL": "debug"},
            "blue_green": {"auto_promotion": True, "scale_down_delay_seconds": 60},
            "waf": {"log_retention_days": 30},
            "ecr": {"keep_last_images": 20, "mutable_tag_filters": ["latest"], "protect": False},
            "load_balancer_deletion_protection": False,
        },
    },
    "staging": {
        "network": {"az_count": 3, "nat_strategy": "single", "flow_logs_retention_days": 90},
        "identity": {"kms_deletion_window_days": 30},
        "cluster": {
            "log_retention_days": 90, "deletion_protection": True,
            "node_groups": {"system": {"instance_types": ["m6i.large", "m6a.large"], "min_size": 2, "desired_size": 3,
                                       "max_size": 4, "labels": {"node.kubernetes.io/pool": "system"},
                                       "taints": [{"key": "CriticalAddonsOnly", "value": "true"}]}},
        },
        "addons": _HA_ADDONS | {"karpenter": {"replicas": 2, "cpu_limit": 64,
                   "memory_limit_gib": 256, "capacity_types": ["spot", "on-demand"]}},
        "database": {
            "serverless_min_capacity": 0.5, "serverless_max_capacity": 16, "reader_count": 1,
            "backup_retention_days": 14, "deletion_protection": True, "final_snapshot": True, "protect": True,
            "log_retention_days": 90,
        },
        "storage": {"noncurrent_version_expiration_days": 60, "noncurrent_versions_to_keep": 2,
                    "logs_expiration_days": 180, "protect": True},
        "backup": {
            "hourly_retention_days": 1, "daily_retention_days": 14, "weekly_retention_days": 60,
            "monthly_retention_days": 180, "monthly_cold_storage_after_days": 90, "continuous_backup": True,
            "vault_lock_mode": "governance", "vault_lock_min_retention_days": 1, "vault_lock_max_retention_days": 400,
        },
        "api": {
            "strategy": "blue-green", "replicas": 2, "hpa": {"min_replicas": 2, "max_replicas": 6},
            "blue_green": {"auto_promotion": True, "scale_down_delay_seconds": 600},
            "waf": {"log_retention_days": 90},
            "ecr": {"keep_last_images": 50, "protect": True},
        },
    },
    "prod": {
        "network": {"az_count": 3, "nat_strategy": "one_per_az", "flow_logs_retention_days": 365},
        "identity": {"kms_deletion_window_days": 30},
        "cluster": {
            "log_retention_days": 365, "deletion_protection": True,
            "node_groups": {"system": {"instance_types": ["m6i.xlarge", "m6a.xlarge"], "min_size": 3, "desired_size": 3,
                                       "max_size": 6, "labels": {"node.kubernetes.io/pool": "system"},
                                       "taints": [{"key": "CriticalAddonsOnly", "value": "true"}]}},
        },
        "addons": _HA_ADDONS | {"karpenter": {"replicas": 2, "cpu_limit": 256,
                   "memory_limit_gib": 1024, "capacity_types": ["on-demand"]}},
        "database": {
            "serverless_min_capacity": 2, "serverless_max_capacity": 64, "reader_count": 2,
            "backup_retention_days": 35, "deletion_protection": True, "final_snapshot": True, "protect": True,
            "performance_insights_retention_days": 31, "log_retention_days": 365,
        },
        "storage": {"noncurrent_version_expiration_days": 90, "noncurrent_versions_to_keep": 3,
                    "logs_expiration_days": 365, "exports_object_lock": True, "exports_object_lock_mode": "GOVERNANCE",
                    "exports_object_lock_days": 35, "protect": True},
        "backup": {
            "hourly_retention_days": 2, "daily_retention_days": 35, "weekly_retention_days": 90,
            "monthly_retention_days": 365, "monthly_cold_storage_after_days": 90, "continuous_backup": True,
            "vault_lock_mode": "compliance", "vault_lock_min_retention_days": 1, "vault_lock_max_retention_days": 400,
            "vault_lock_changeable_for_days": 7,
        },
        "api": {
            "strategy": "canary", "replicas": 3, "hpa": {"min_replicas": 3, "max_replicas": 20},
            "blue_green": {"auto_promotion": False, "scale_down_delay_seconds": 1800},
            "waf": {"log_retention_days": 365},
            "ecr": {"keep_last_images": 100, "protect": True},
        },
    },
}

# Stack-file key -> StackConfig field. `ai-platform:<section>` keys map to the section of the same name.
_FIXED_KEYS = {"aws:region": "region", f"{PROJECT}:environment": "environment"}
_INTERNAL_FIELDS = {"stack", "region", "environment"}
# Sections a stack may leave out entirely (the feature is then not deployed); their defaults apply only when set.
_OPTIONAL_SECTIONS = {"api"}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` wins key by key; nested mappings merge, anything else (lists included) replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to the program as JSON text; a stack file read directly gives objects."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _allowed_keys(loc: tuple[Any, ...]) -> list[str] | None:
    """The field names a model accepts at `loc` (for 'unknown key' messages)."""
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int) or model is None:
            return None
        annotation = None
        if isinstance(model, type) and issubclass(model, BaseModel) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        elif get_origin(model) is dict:
            annotation = get_args(model)[1]
        if annotation is None:
            return None
        model = _unwrap(annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(set(model.model_fields) - (_INTERNAL_FIELDS if model is StackConfig else set()))
    return None


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X, so that optional sections and maps are walked like required ones."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) not in (dict, None) and len(args) == 1:
        return args[0]
    return annotation


def _key_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if not parts:
        return f"{PROJECT}:<root>"
    head = parts[0]
    if head == "region":
        return "aws:region"
    return f"{PROJECT}:{head}" + "".join(f".{p}" for p in parts[1:])


_SEE_README = "see the README's configuration reference"


def _describe(error: dict[str, Any]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(tuple(error["loc"][:-1]))
        return "unknown key; allowed: " + (", ".join(allowed) if allowed else _SEE_README)
    if kind == "missing":
        return f"required key is missing; allowed: {_SEE_README}"
    if kind == "literal_error":
        return f"{value!r} is not a valid choice; allowed: {ctx.get('expected')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()), "?")
        return f"{value!r} is out of range; allowed: {bound} {limit}"
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        return str(ctx["error"])
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a map of keys, got {value!r}; allowed: {_SEE_README}"
    return f"{error['msg'].rstrip('.')} (got {value!r}); allowed: {_SEE_README}"


def _located(error: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Move a `_FieldError` raised by a model validator onto the field it blames."""
    cause = (error.get("ctx") or {}).get("error")
    loc = tuple(error["loc"])
    if isinstance(cause, _FieldError):
        loc = loc + tuple(cause.field.split("."))
    return loc, error


# --- loading ----------------------------------------------------------------------------------------------------


def load_stack_config(stack: str, raw: Mapping[str, Any], source: str | None = None) -> StackConfig:
    """Validate a stack's raw config (`{"aws:region": ..., "ai-platform:network": {...}}`) into a `StackConfig`.

    `raw` values may be objects (a parsed stack file) or JSON text (the Pulumi runtime). Raises `StackConfigError`
    naming every bad key; never any other exception for a user mistake.
    """
    source = source or f"Pulumi.{stack}.yaml"
    problems: list[str] = []
    data: dict[str, Any] = {"stack": stack}
    section_fields = set(StackConfig.model_fields) - _INTERNAL_FIELDS
    for key, value in raw.items():
        key = str(key)
        if key in _FIXED_KEYS:
            data[_FIXED_KEYS[key]] = _decode(value)
        elif key.startswith(f"{PROJECT}:"):
            section = key.split(":", 1)[1]
            if section in section_fields:
                data[section] = _decode(value)
            else:
                problems.append(f"{source}: {key}: unknown key; allowed: {', '.join(sorted(section_fields))}")
        # Other namespaces (aws:profile, pulumi:...) belong to their providers and are not ours to judge.

    environment = data.get("environment")
    if not isinstance(environment, str) or environment not in ENVIRONMENT_DEFAULTS:
        shown = "required key is missing" if environment is None else f"{environment!r} is not a valid choice"
        problems.append(f"{source}: {PROJECT}:environment: {shown}; allowed: 'dev', 'staging' or 'prod'")
        raise StackConfigError(problems)
    defaults = ENVIRONMENT_DEFAULTS[environment]
    for section, section_defaults in defaults.items():
        if section in _OPTIONAL_SECTIONS and section not in data:
            continue  # an optional section the stack leaves out stays out (no workload), defaults and all
        if isinstance(data.get(section, {}), Mapping):
            data[section] = deep_merge(section_defaults, data.get(section, {}))

    try:
        config = StackConfig.model_validate(data)
    except ValidationError as error:
        for loc, detail in sorted(map(_located, error.errors()), key=lambda item: [str(p) for p in item[0]]):
            problems.append(f"{source}: {_key_name(loc)}: {_describe(detail)}")
        raise StackConfigError(problems) from None
    if problems:
        raise StackConfigError(problems)
    return config


def pulumi_runtime_config() -> dict[str, Any]:
    """Every config key the Pulumi runtime holds for this stack (set by `pulumi up` or by the offline engine)."""
    from pulumi.runtime import config as runtime_config  # the SDK exposes no public "all keys" call

    merged = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def load_from_pulumi() -> StackConfig:
    """Load the current stack's configuration from the Pulumi runtime (used by `__main__.py`)."""
    return load_stack_config(pulumi.get_stack(), pulumi_runtime_config())
