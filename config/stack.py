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
from config.database import DatabaseConfig
from config.dr import DrConfig
from config.errors import FieldError
from config.identity import IdentityConfig
from config.network import NetworkConfig
from config.observability import ObservabilityConfig
from config.security import SecurityConfig
from config.storage import StorageConfig
from config.types import PROJECT, Environment, Section, check_region, check_tags, partition_of


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
        certificate = dr.standby.certificate_arn
        if self.api is not None and certificate is None:
            raise FieldError(
                "dr.standby.certificate_arn",
                f"the standby ai-api's ALB in {dr.region} needs a certificate; allowed: an ACM certificate ARN in "
                f"{dr.region} covering api.domain_name",
            )
        if certificate is not None and certificate.split(":")[3] != dr.region:
            raise FieldError(
                "dr.standby.certificate_arn",
                f"certificate is in {certificate.split(':')[3]} but the standby ALB is in {dr.region}; "
                f"allowed: an ACM certificate in {dr.region}",
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
        certificate_region = api.certificate_arn.split(":")[3]
        if certificate_region != self.region:
            raise FieldError(
                "api.certificate_arn",
                f"certificate is in {certificate_region} but the ALB is in {self.region}; "
                f"allowed: an ACM certificate in {self.region}",
            )
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
        if not self.addons.load_balancer_controller.enabled:
            raise FieldError(
                "api",
                "the ai-api ingress needs the AWS Load Balancer Controller but ai-platform:addons."
                "load_balancer_controller.enabled is false; allowed: enable addons.load_balancer_controller",
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
