"""`ai-platform:security`: threat detection and audit (account-level services), automated IP blocking at the WAF,
and rotation of the application's secrets.

The audit and detection services are account-level (one GuardDuty detector and one Security Hub per account and
region; one multi-region trail is enough and is the only free copy of management events), so exactly one stack of
an account owns them: `manage_account_security`. The shipped stack files put dev, staging and prod in one account,
so prod (the model default) owns them and the dev and staging profiles set it false.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.errors import FieldError
from config.types import LogRetentionDays, Section

ObjectLockMode = Literal["GOVERNANCE", "COMPLIANCE"]
SecurityStandard = Literal["aws-foundational-security-best-practices", "cis-aws-foundations-benchmark"]
InspectorScan = Literal["ECR", "EC2"]


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


class CloudTrailConfig(Section):
    """`ai-platform:security.cloudtrail`: the account's multi-region trail, its bucket and its CloudWatch Logs copy."""

    object_lock_mode: ObjectLockMode = Field(
        "COMPLIANCE",
        description="Object Lock mode of the trail bucket: COMPLIANCE (no one, not even root, deletes a log file "
        "before its retention ends) or GOVERNANCE (a principal with s3:BypassGovernanceRetention can).",
    )
    object_lock_days: int = Field(
        365, ge=1, le=36500, description="Default Object Lock retention of each log file (days; CIS asks one year)."
    )
    expiration_days: int = Field(
        2557,
        ge=2,
        le=36500,
        description="Days a log file is kept in the trail bucket before it expires (> object_lock_days; 7 years by "
        "default, the common audit-retention requirement).",
    )
    glacier_ir_after_days: int = Field(
        90, ge=1, le=36500, description="Days before log files move to GLACIER_IR (rarely read after an incident)."
    )
    log_retention_days: LogRetentionDays = Field(
        365, description="Retention of the trail's CloudWatch Logs copy (searched during an investigation)."
    )
    s3_data_events: bool = Field(
        True,
        description="Record object-level reads and writes (data events) of this stack's models, data and exports "
        "buckets (CIS 3.8/3.9; billed per 100,000 events).",
    )

    @model_validator(mode="after")
    def _check(self) -> CloudTrailConfig:
        if self.expiration_days <= self.object_lock_days:
            raise FieldError(
                "expiration_days",
                f"{self.expiration_days} days would expire log files still locked for {self.object_lock_days}; "
                f"allowed: more than object_lock_days",
            )
        if self.glacier_ir_after_days >= self.expiration_days:
            raise FieldError(
                "glacier_ir_after_days",
                f"{self.glacier_ir_after_days} days is not before expiration_days ({self.expiration_days}); "
                "allowed: fewer days than expiration_days",
            )
        return self


class GuardDutyConfig(Section):
    """`ai-platform:security.guardduty`: the account's GuardDuty detector and its protection plans."""

    finding_publishing_frequency: Literal["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"] = Field(
        "FIFTEEN_MINUTES",
        description="How often updates of existing findings reach EventBridge (new findings always arrive within "
        "about 5 minutes).",
    )
    runtime_monitoring: bool = Field(
        True,
        description="EKS Runtime Monitoring with the security agent managed by GuardDuty (an EKS add-on on every "
        "cluster of the account and region).",
    )
    malware_protection: bool = Field(
        True, description="Scan the EBS volumes of an instance or container a finding names (EBS_MALWARE_PROTECTION)."
    )
    lambda_network_logs: bool = Field(
        False,
        description="Lambda protection: watch the network activity of the account's Lambda functions (the platform's "
        "own functions talk only to AWS APIs).",
    )


class SecurityHubConfig(Section):
    """`ai-platform:security.security_hub`: Security Hub and the standards it checks the account against."""

    standards: tuple[SecurityStandard, ...] = Field(
        ("aws-foundational-security-best-practices", "cis-aws-foundations-benchmark"),
        min_length=1,
        description="Standards enabled: AWS Foundational Security Best Practices v1.0.0 and CIS AWS Foundations "
        "Benchmark v3.0.0.",
    )


class InspectorConfig(Section):
    """`ai-platform:security.inspector`: Amazon Inspector vulnerability scanning."""

    resource_types: tuple[InspectorScan, ...] = Field(
        ("ECR", "EC2"),
        min_length=1,
        description="What Inspector scans: ECR (container images on push and continuously) and EC2 (the EKS nodes' "
        "packages, through the SSM agent the nodes already run).",
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
    cloudtrail: CloudTrailConfig = Field(default_factory=CloudTrailConfig, description="The account's trail.")
    guardduty: GuardDutyConfig = Field(default_factory=GuardDutyConfig, description="The account's detector.")
    security_hub: SecurityHubConfig = Field(default_factory=SecurityHubConfig, description="Security Hub.")
    inspector: InspectorConfig = Field(default_factory=InspectorConfig, description="Amazon Inspector.")
