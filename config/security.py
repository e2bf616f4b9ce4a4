"""`ai-platform:security`: threat detection and audit (account-level services), automated IP blocking at the WAF,
and rotation of the application's secrets."""

from __future__ import annotations

from pydantic import Field

from config.types import LogRetentionDays, Section


class IpBlockingConfig(Section):
    """`ai-platform:security.ip_blocking`: GuardDuty findings with a remote IP block that address at the WAF."""

    enabled: bool = Field(True, description="Block the remote IP of high-severity GuardDuty findings at the WAF.")
    block_hours: int = Field(24, ge=1, le=8760, description="How long an automatic block lasts before it expires.")
    min_severity: float = Field(
        7.0, ge=1.0, le=10.0,
        description="Lowest GuardDuty severity that blocks (7.0: high and critical; medium starts at 4.0).",
    )  # fmt: skip
    log_retention_days: LogRetentionDays = Field(365, description="Retention of the blocking Lambda's log group.")
    table_deletion_protection: bool = Field(
        True,
        description="Deletion protection on the table recording the blocks (which addresses are the automation's).",
    )


class RotationConfig(Section):
    """`ai-platform:security.rotation`: rotation of the application's own secrets in Secrets Manager."""

    enabled: bool = Field(True, description="Rotate the ai-api's application secrets on a schedule.")
    days: int = Field(30, ge=1, le=1000, description="Days between rotations (Secrets Manager accepts 1-1000).")
    log_retention_days: LogRetentionDays = Field(365, description="Retention of the rotation Lambda's log group.")
    recovery_window_days: int = Field(
        30, ge=7, le=30, description="Days a deleted application secret can still be restored (Secrets Manager: 7-30)."
    )


class SecurityConfig(Section):
    """`ai-platform:security`: detection, response and rotation."""

    manage_account_security: bool = Field(
        True,
        description="This stack owns the account-level singletons (GuardDuty detector, Security Hub, Inspector, the "
        "CloudTrail trail); other stacks in the same account set false and only read them.",
    )
    ip_blocking: IpBlockingConfig = Field(default_factory=IpBlockingConfig, description="Automated IP blocking.")
    rotation: RotationConfig = Field(default_factory=RotationConfig, description="Application secret rotation.")
