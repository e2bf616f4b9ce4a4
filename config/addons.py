"""`ai-platform:addons`: the Helm-installed cluster add-ons, each pinned to an exact chart version."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.errors import FieldError
from config.types import Section

_CHART_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


def _check_chart_version(version: str) -> str:
    """Allowed: an exact chart version MAJOR.MINOR.PATCH, e.g. 1.8.1."""
    if not _CHART_VERSION.fullmatch(version):
        raise ValueError(f"{version!r} is not a pinned chart version; allowed: an exact MAJOR.MINOR.PATCH, e.g. 1.8.1")
    return version


ChartVersion = Annotated[str, AfterValidator(_check_chart_version)]


def _check_v_chart_version(version: str) -> str:
    """Allowed: an exact chart version vMAJOR.MINOR.PATCH, as the chart's repository lists it, e.g. v1.21.1."""
    if not (isinstance(version, str) and version.startswith("v") and _CHART_VERSION.fullmatch(version[1:])):
        raise ValueError(
            f"{version!r} is not a pinned chart version; allowed: an exact vMAJOR.MINOR.PATCH, e.g. v1.21.1"
        )
    return version


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


class CertManagerConfig(HelmAddonConfig):
    """cert-manager (chart `cert-manager`, https://charts.jetstack.io, CRDs installed by the chart) and the cluster's
    internal CA: a self-signed ClusterIssuer bootstraps a CA Certificate, which a CA ClusterIssuer signs with.
    Certificates the CA issues get cert-manager's defaults unless they say otherwise: 90 days, renewed 30 days
    (a third of their lifetime) before expiry."""

    chart_version: Annotated[str, AfterValidator(_check_v_chart_version)] = Field(
        "v1.21.1", description="Exact chart version, with the v charts.jetstack.io lists it with."
    )
    ca_duration_hours: int = Field(
        43800, ge=720, le=87600, description="Lifetime of the internal CA certificate (default 5 years)."
    )
    ca_renew_before_hours: int = Field(
        8760, ge=168, le=43800, description="Renew the internal CA this long before it expires (default 1 year)."
    )

    @model_validator(mode="after")
    def _check(self) -> CertManagerConfig:
        if self.ca_renew_before_hours * 2 > self.ca_duration_hours:
            raise FieldError(
                "ca_renew_before_hours",
                f"{self.ca_renew_before_hours}h is more than half of ca_duration_hours {self.ca_duration_hours}h; "
                "allowed: at most half (cert-manager would renew the CA nearly as soon as it issues it)",
            )
        return self


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
        "al2023@latest", pattern=r"^al2023@(latest|v[0-9]{8})$",
        description="EKS-optimised AL2023 AMI for Karpenter nodes: al2023@latest, or pinned as al2023@vYYYYMMDD.",
    )  # fmt: skip
    cpu_limit: int = Field(256, ge=1, le=100000, description="Total vCPUs the default NodePool may own (cost ceiling).")
    memory_limit_gib: int = Field(1024, ge=1, le=400000, description="Total memory (GiB) the default NodePool may own.")
    consolidate_after: str = Field("5m", pattern=r"^[0-9]+[smh]$", description="Wait before consolidating a node.")
    expire_after: str = Field("720h", pattern=r"^[0-9]+h$", description="Maximum node lifetime (forces AMI refresh).")
    disruption_budget: str = Field(
        "10%", pattern=r"^([0-9]+|[0-9]{1,3}%)$", description="Nodes (count or %) Karpenter may disrupt at once."
    )


# Newest Kubernetes minor each Karpenter minor supports (karpenter.sh compatibility matrix, checked 2026-11). Karpenter
# on a newer cluster is unsupported and may fail to launch nodes; minors not listed (newer releases) are not judged.
KARPENTER_MAX_KUBERNETES: dict[str, str] = {
    "1.5": "1.33", "1.6": "1.34", "1.7": "1.34", "1.8": "1.34", "1.9": "1.35", "1.10": "1.35", "1.11": "1.35",
}  # fmt: skip


def minor_tuple(version: str) -> tuple[int, int]:
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
    cert_manager: CertManagerConfig = Field(
        default_factory=CertManagerConfig, description="cert-manager and the cluster's internal CA."
    )


# The add-ons of `ai-platform:addons`, in install order.
ADDON_KEYS: tuple[str, ...] = tuple(AddonsConfig.model_fields)
