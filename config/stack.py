"""`StackConfig`: every section together, and the rules that span sections (AZs in the region, Karpenter vs the
Kubernetes version, backup retention, what observability and the ai-api need from the environment and the
add-ons)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, get_args

from pydantic import AfterValidator, Field, model_validator

from config.addons import KARPENTER_MAX_KUBERNETES, AddonsConfig, minor_tuple
from config.api import MUTABLE_IMAGE_TAGS, ApiConfig
from config.backup import BackupConfig
from config.cluster import ClusterConfig
from config.cost import CostConfig
from config.database import DatabaseConfig
from config.dns import DnsConfig, in_zone
from config.dr import DrConfig
from config.errors import FieldError
from config.identity import IdentityConfig
from config.maintenance import MaintenanceConfig
from config.network import NetworkConfig
from config.observability import ObservabilityConfig
from config.security import SecurityConfig
from config.storage import StorageConfig
from config.types import (
    PROJECT,
    Environment,
    Section,
    check_region,
    check_tags,
    describe_minute_of_week,
    parse_backup_window,
    parse_maintenance_window,
    partition_of,
)


class StackConfig(Section):
    """The whole validated configuration of one stack."""

    stack: str = Field(description="Stack name (from the stack file name).")
    environment: Environment = Field(description="`ai-platform:environment`: selects the defaults.")
    region: Annotated[str, AfterValidator(check_region)] = Field(description="`aws:region`: the primary region.")
    tags: Annotated[dict[str, str], AfterValidator(check_tags)] = Field(
        description="`ai-platform:tags`: extra tags; must include owner and cost-center."
    )
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    dr: DrConfig = Field(default_factory=DrConfig)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)
    cost: CostConfig = Field(default_factory=CostConfig)
    dns: DnsConfig | None = Field(
        None, description="`ai-platform:dns`: the public hosted zone; a stack without it manages no DNS record."
    )
    api: ApiConfig | None = Field(
        None, description="`ai-platform:api`: the ai-api workload; a stack without this section runs no workload."
    )

    @model_validator(mode="after")
    def _check(self) -> StackConfig:
        azs = self.network.availability_zones or ()
        wrong = [az for az in azs if not re.fullmatch(rf"{re.escape(self.region)}[a-z]", az)]
        if wrong:
            raise FieldError(
                "network.availability_zones",
                f"{', '.join(wrong)} not in region {self.region}; allowed: {self.region}a, {self.region}b, ...",
            )
        karpenter = self.addons.karpenter
        karpenter_minor = ".".join(karpenter.chart_version.split(".")[:2])
        newest = KARPENTER_MAX_KUBERNETES.get(karpenter_minor)
        if karpenter.enabled and newest and minor_tuple(self.cluster.version) > minor_tuple(newest):
            raise FieldError(
                "addons.karpenter.chart_version",
                f"Karpenter {karpenter.chart_version} supports Kubernetes up to {newest} but cluster.version is "
                f"{self.cluster.version}; allowed: a Karpenter release supporting {self.cluster.version}",
            )
        if self.backup.continuous_backup and self.database.backup_retention_days != self.backup.daily_retention_days:
            # AWS Backup's continuous backup takes over the cluster's automated-backup retention: two values drift.
            raise FieldError(
                "database.backup_retention_days",
                f"{self.database.backup_retention_days} days differs from backup.daily_retention_days "
                f"{self.backup.daily_retention_days} while backup.continuous_backup is on; allowed: the same value",
            )
        if self.observability.enabled and not self.addons.external_secrets.enabled:
            raise FieldError(
                "observability.enabled",
                "Grafana's admin password reaches the cluster through external-secrets but ai-platform:addons."
                "external_secrets.enabled is false; allowed: false, or enable addons.external_secrets",
            )
        self._check_dr()
        self._check_windows()
        if self.security.manage_account_security and not self.observability.enabled:
            # GuardDuty and Security Hub findings are routed to the alert topics the observability section creates.
            raise FieldError(
                "security.manage_account_security",
                "the account's findings are routed to the alert topics but ai-platform:observability.enabled is "
                "false; allowed: false, or enable observability",
            )
        if self.api is not None:
            self._check_api(self.api)
        return self

    def _check_dr(self) -> None:
        """The DR region is another region of the same partition; the active region is one of the two."""
        dr = self.dr
        if dr.strategy == "none":
            return
        if dr.region == self.region:
            raise FieldError("dr.region", f"{dr.region} is the primary region (aws:region); allowed: another region")
        if partition_of(dr.region) != partition_of(self.region):
            raise FieldError(
                "dr.region",
                f"{dr.region} is in another partition than {self.region}; allowed: a region of the same partition",
            )
        if dr.active_region not in (None, self.region, dr.region):
            raise FieldError(
                "dr.active_region",
                f"{dr.active_region} is neither aws:region nor dr.region; allowed: {self.region} or {dr.region}",
            )
        if dr.strategy != "warm-standby":
            return
        if ipaddress.IPv4Network(dr.standby.network_cidr).overlaps(ipaddress.IPv4Network(self.network.cidr)):
            raise FieldError(
                "dr.standby.network_cidr",
                f"{dr.standby.network_cidr} overlaps network.cidr {self.network.cidr}; allowed: a disjoint private "
                "range",
            )
        # Without dr.standby.certificate_arn the zone issues the standby's certificate; without a zone, warm-standby
        # is refused for the failover records it cannot hold (`_check_api_entry`), certificate or not.
        certificate = dr.standby.certificate_arn
        if certificate is not None and certificate.split(":")[3] != dr.region:
            raise FieldError(
                "dr.standby.certificate_arn",
                f"certificate is in {certificate.split(':')[3]} but the standby ALB is in {dr.region}; "
                f"allowed: an ACM certificate in {dr.region}",
            )

    def scheduled_windows(self) -> dict[str, set[int]]:
        """Every recurring window of the stack as the minutes of the week it covers (UTC), keyed by its setting:
        the node maintenance window, the database's maintenance and backup windows, and the start windows of the
        daily, weekly and monthly AWS Backup jobs (the hourly job runs every hour and is left out)."""
        windows = {
            "database.maintenance_window": parse_maintenance_window(self.database.maintenance_window),
            "database.backup_window": parse_backup_window(self.database.backup_window),
        }
        windows |= {
            f"backup.{job.name}_start": set(job.start_minutes) for job in self.backup.jobs() if job.start_minutes
        }
        if self.maintenance.window is not None:
            windows["maintenance.window"] = parse_maintenance_window(self.maintenance.window)
        return windows

    def _check_windows(self) -> None:
        """No maintenance window overlaps another recurring window: a node replacement, a database maintenance and
        a backup job never compete. Backup jobs may coincide with each other (AWS Backup then takes one recovery
        point and keeps it for the longest retention)."""
        windows = self.scheduled_windows()
        settings = {
            "maintenance.window": self.maintenance.window,
            "database.maintenance_window": self.database.maintenance_window,
        }
        maintenance = [key for key in settings if key in windows]
        for key in maintenance:
            for other, minutes in windows.items():
                shared = windows[key] & minutes
                if other != key and shared and not (key == "database.maintenance_window" and other in maintenance):
                    raise FieldError(
                        key,
                        f"{settings[key]} overlaps {other} "
                        f"(from {describe_minute_of_week(min(shared))} UTC); allowed: a window outside it",
                    )

    @property
    def active_region(self) -> str:
        """The region that serves traffic and holds the database writer."""
        return self.dr.active_region or self.region

    @property
    def standby_region(self) -> str | None:
        """The other region of the pair (none without DR)."""
        if self.dr.strategy == "none":
            return None
        return self.dr.region if self.active_region == self.region else self.region

    def _check_api(self, api: ApiConfig) -> None:
        """Rules of `ai-platform:api` that depend on the environment, the region or the add-ons."""
        tag = api.image.tag
        if self.environment != "dev" and tag is not None and tag.lower() in MUTABLE_IMAGE_TAGS:
            raise FieldError(
                "api.image.tag",
                f"{tag!r} is a moving tag, never deployed to {self.environment}; allowed: an immutable tag "
                "(a version like 1.4.2 or a git SHA) or image.digest sha256:<64 hex>",
            )
        if self.environment != "dev" and api.ecr.mutable_tag_filters:
            raise FieldError(
                "api.ecr.mutable_tag_filters",
                f"mutable tags in {self.environment} would let a release change under the same tag; allowed: []",
            )
        if self.environment == "prod" and api.blue_green.auto_promotion:
            raise FieldError(
                "api.blue_green.auto_promotion", "prod releases are promoted by a person; allowed: false in prod"
            )
        self._check_api_entry(api)
        if api.strategy != "rolling" and not self.addons.argo_rollouts.enabled:
            raise FieldError(
                "api.strategy",
                f"{api.strategy!r} needs Argo Rollouts but ai-platform:addons.argo_rollouts.enabled is false; "
                "allowed: 'rolling', or enable addons.argo_rollouts",
            )
        if api.strategy != "rolling" and not self.observability.enabled:
            raise FieldError(
                "api.strategy",
                f"{api.strategy!r} releases are judged by Prometheus analysis but ai-platform:observability.enabled "
                "is false; allowed: 'rolling', or enable observability",
            )
        if not self.addons.external_secrets.enabled:
            raise FieldError(
                "api",
                "the ai-api reads DATABASE_URL through external-secrets but ai-platform:addons.external_secrets."
                "enabled is false; allowed: enable addons.external_secrets",
            )
        generated = [secret.name for secret in api.secrets if secret.source == "generated"]
        if generated and not self.security.rotation.enabled:
            raise FieldError(
                "api.secrets",
                f"{', '.join(generated)} are generated by the rotation Lambda but ai-platform:security.rotation."
                "enabled is false; allowed: source provider for them, or enable security.rotation",
            )
        if not self.addons.load_balancer_controller.enabled:
            raise FieldError(
                "api",
                "the ai-api ingress needs the AWS Load Balancer Controller but ai-platform:addons."
                "load_balancer_controller.enabled is false; allowed: enable addons.load_balancer_controller",
            )

    def _check_api_entry(self, api: ApiConfig) -> None:
        """The ai-api's certificate has exactly one source (`api.certificate_arn`, else the `dns` zone issues it),
        its name sits in the zone, and failover records (DR warm-standby) can be CNAMEs, so not at the apex."""
        dns = self.dns
        if api.certificate_arn is None and dns is None:
            raise FieldError(
                "api.certificate_arn",
                "no certificate for api.domain_name: neither api.certificate_arn nor an ai-platform:dns zone to issue "
                "one through; allowed: set ai-platform:dns (zone_name, optionally zone_id), or an ACM certificate ARN",
            )
        if api.certificate_arn is not None:
            certificate_region = api.certificate_arn.split(":")[3]
            if certificate_region != self.region:
                raise FieldError(
                    "api.certificate_arn",
                    f"certificate is in {certificate_region} but the ALB is in {self.region}; "
                    f"allowed: an ACM certificate in {self.region}",
                )
        if dns is None:
            if self.dr.strategy == "warm-standby":
                raise FieldError(
                    "dr.strategy",
                    "warm-standby fails the ai-api over to the DR region through Route 53 failover records, but there "
                    "is no ai-platform:dns zone to hold them; allowed: set ai-platform:dns, or another dr.strategy",
                )
            return
        if not in_zone(api.domain_name, dns.zone_name):
            raise FieldError(
                "api.domain_name",
                f"{api.domain_name} is not in the zone {dns.zone_name} (ai-platform:dns.zone_name); allowed: "
                f"{dns.zone_name} or a name ending in .{dns.zone_name}",
            )
        if self.dr.strategy == "warm-standby" and api.domain_name == dns.zone_name:
            raise FieldError(
                "api.domain_name",
                f"{api.domain_name} is the zone apex, where the failover CNAME records of dr.strategy warm-standby "
                f"cannot exist; allowed: a name below {dns.zone_name}, e.g. api.{dns.zone_name}",
            )

    def mandatory_tags(self) -> dict[str, str]:
        """The stack-wide tags every taggable resource carries (the `component` tag is added per component)."""
        return {**self.tags, "project": PROJECT, "stack": self.stack, "environment": self.environment,
                "managed-by": "pulumi"}  # fmt: skip


# `ai-platform:<section>` -> its model, in declaration order (the optional `api` section included).
SECTIONS: dict[str, type[Section]] = {
    name: next(
        a for a in (field.annotation, *get_args(field.annotation)) if isinstance(a, type) and issubclass(a, Section)
    )
    for name, field in StackConfig.model_fields.items()
    if name not in ("stack", "environment", "region", "tags")
}
