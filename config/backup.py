"""`ai-platform:backup`: retention of the AWS Backup rules and the vault lock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from config.errors import FieldError
from config.types import Section, TimeOfDay, TimeOfWeek, minutes_from, parse_time_of_day, parse_time_of_week


@dataclass(frozen=True)
class BackupJob:
    """One backup rule's timing: its UTC cron, and how long AWS Backup may wait to start and to finish it."""

    name: str
    schedule: str
    start_window_minutes: int
    completion_window_minutes: int
    copied: bool  # copied into the disaster-recovery vault when there is one
    start_minutes: frozenset[int]  # minutes of the week in which the job may start (for overlap checks)


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
        "compliance",
        description="Vault lock: none; governance (removable with IAM permission); compliance (immutable).",
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
    protect: bool = Field(True, description="Pulumi `protect` and `retainOnDelete` on the vault (no accidental loss).")
    daily_start: TimeOfDay = Field(
        "05:00", description="UTC start of the daily backup job (hh:mm), after the database's own backup window."
    )
    weekly_start: TimeOfWeek = Field("sun:06:00", description="UTC start of the weekly backup job (ddd:hh:mm).")
    monthly_start: TimeOfDay = Field("07:00", description="UTC start of the monthly backup job on the 1st (hh:mm).")

    def jobs(self) -> tuple[BackupJob, ...]:
        """The plan's rules in schedule order: hourly, daily, weekly, monthly (the monthly job's 1st can be any
        weekday, so its start window counts on every day)."""
        daily, weekly, monthly = (
            parse_time_of_day(self.daily_start), parse_time_of_week(self.weekly_start),
            parse_time_of_day(self.monthly_start),
        )  # fmt: skip
        weekday = self.weekly_start[:3].upper()

        def at(minute: int) -> str:
            return f"{minute % 60} {minute // 60 % 24}"

        return (
            # Hourly points are copied too: without them a lost region loses up to a day (backup-restore's RPO).
            BackupJob("hourly", "cron(0 * ? * * *)", 60, 120, True, frozenset()),
            BackupJob("daily", f"cron({at(daily)} ? * * *)", 60, 480, True,
                      frozenset(minutes_from(daily, 60, every_day=True))),
            BackupJob("weekly", f"cron({at(weekly)} ? * {weekday} *)", 120, 720, True,
                      frozenset(minutes_from(weekly, 120, every_day=False))),
            BackupJob("monthly", f"cron({at(monthly)} 1 * ? *)", 120, 1440, True,
                      frozenset(minutes_from(monthly, 120, every_day=True))),
        )  # fmt: skip

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
            raise FieldError(
                "monthly_cold_storage_after_days",
                f"cold storage after {cold} days leaves {self.monthly_retention_days - cold} days before deletion "
                f"(monthly_retention_days {self.monthly_retention_days}); allowed: at most "
                f"{self.monthly_retention_days - 90} (AWS keeps cold recovery points >= 90 days)",
            )
        if self.continuous_backup and self.daily_retention_days > 35:
            raise FieldError(
                "daily_retention_days",
                f"{self.daily_retention_days} days with continuous_backup; allowed: 1 to 35 (AWS PITR limit)",
            )
        if self.vault_lock_mode != "none":
            if self.vault_lock_min_retention_days > self.vault_lock_max_retention_days:
                raise FieldError(
                    "vault_lock_min_retention_days", "above vault_lock_max_retention_days; allowed: min <= max"
                )
            for key, days in self.retentions().items():
                if days < self.vault_lock_min_retention_days:
                    raise FieldError(
                        key,
                        f"{days} days is below the vault lock minimum {self.vault_lock_min_retention_days} "
                        f"(backups would fail); allowed: >= vault_lock_min_retention_days",
                    )
                if days > self.vault_lock_max_retention_days:
                    raise FieldError(
                        key,
                        f"{days} days is above the vault lock maximum {self.vault_lock_max_retention_days} "
                        f"(backups would fail); allowed: <= vault_lock_max_retention_days",
                    )
        return self
