"""SKELETON (branch only): the kube-prometheus-stack, Grafana and remote write; filled in by its helper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from components.base import PlatformComponent

if TYPE_CHECKING:
    from components.observability import ObservabilityArgs

NAMESPACE = "monitoring"


@dataclass(frozen=True)
class MetricsStack:
    """What the rest of observability and the workload use of the metrics stack."""

    namespace: str
    prometheus_address: str
    alertmanager_address: str
    release: str
    crds_ready: tuple[pulumi.Resource, ...]


def install(parent: PlatformComponent, name: str, args: ObservabilityArgs) -> MetricsStack:
    return MetricsStack(
        namespace=NAMESPACE,
        prometheus_address=f"http://kube-prometheus-stack-prometheus.{NAMESPACE}.svc:9090",
        alertmanager_address=f"http://kube-prometheus-stack-alertmanager.{NAMESPACE}.svc:9093",
        release="kube-prometheus-stack",
        crds_ready=(),
    )
