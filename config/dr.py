"""`ai-platform:dr`: cross-region disaster recovery: the strategy, the DR region, which region is active, and the
size of the standby side."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.api import _check_certificate_arn
from config.errors import FieldError
from config.network import _check_private_cidr
from config.types import Section, check_region

DrStrategy = Literal["none", "backup-restore", "warm-standby"]


class DrStandbyConfig(Section):
    """`ai-platform:dr.standby`: the warm standby in the DR region (same components, smaller)."""

    system_node_count: int = Field(2, ge=1, le=10, description="Nodes of the standby cluster's system node group.")
    api_replicas: int = Field(1, ge=1, le=20, description="ai-api pods kept running in the standby region.")
    database_reader_count: int = Field(
        1, ge=0, le=15, description="Readers of the secondary Aurora cluster (0: headless, promotion adds one)."
    )
    network_cidr: Annotated[str, AfterValidator(_check_private_cidr)] = Field(
        "10.31.0.0/16",
        description="VPC IPv4 range of the standby side in the DR region (must not overlap network.cidr, so the two "
        "VPCs can be peered or joined by a transit gateway).",
    )
    certificate_arn: Annotated[str, AfterValidator(_check_certificate_arn)] | None = Field(
        None,
        description="ACM certificate in the DR region covering api.domain_name, for the standby's ALB; without it "
        "the ai-platform:dns zone (which warm-standby requires for its failover records) issues one.",
    )


class DrDnsConfig(Section):
    """`ai-platform:dr.dns`: Route 53 health check and failover records of the ai-api entry."""

    health_check_interval_seconds: Literal[10, 30] = Field(10, description="Route 53 health check request interval.")
    health_check_failure_threshold: int = Field(
        3, ge=1, le=10, description="Consecutive failed checks before the primary is considered down."
    )
    health_check_path: str = Field("/health", pattern=r"^/[A-Za-z0-9._~/-]{0,254}$", description="Path checked.")
    record_ttl_seconds: int = Field(60, ge=10, le=300, description="TTL of the failover records.")


class DrConfig(Section):
    """`ai-platform:dr`: disaster recovery into a second region."""

    strategy: DrStrategy = Field(
        "warm-standby",
        description="none; backup-restore (copies of data and recovery points in the DR region); warm-standby "
        "(backup-restore plus an Aurora Global secondary, replicated buckets and a running standby side).",
    )
    region: Annotated[str, AfterValidator(check_region)] = Field(
        "us-west-2", description="The DR region (must differ from `aws:region`)."
    )
    active_region: Annotated[str, AfterValidator(check_region)] | None = Field(
        None,
        description="The region serving traffic and holding the writer; none: `aws:region`. Set by "
        "`python -m ops dr switchover|failover|failback`, so the next `pulumi up` declares the new primary.",
    )
    replication_time_control: bool = Field(
        True, description="S3 Replication Time Control (99.99% of objects within 15 minutes, with metrics)."
    )
    copy_retention_days: int = Field(
        35, ge=1, le=36500, description="Retention of the recovery points copied into the DR vault."
    )
    standby: DrStandbyConfig = Field(default_factory=DrStandbyConfig, description="The warm standby's size.")
    dns: DrDnsConfig = Field(default_factory=DrDnsConfig, description="Health check and failover records.")
    protect: bool = Field(True, description="Pulumi `protect` on the DR side's stateful resources.")

    @model_validator(mode="after")
    def _check(self) -> DrConfig:
        if self.active_region is not None and self.strategy == "none":
            raise FieldError("active_region", "set while strategy is 'none'; allowed: unset, or choose a strategy")
        return self
