"""Chart plumbing every add-on shares: where each official chart is published, the namespace its controller runs
in, how a chart and its IRSA role are declared under the `Addons` component, and the Helm values that put every
controller on the `system` node group and spread it over zones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.identity import WorkloadRole, workload_role
from config import HelmAddonConfig
from config.namespaces import ADDON_NAMESPACES

if TYPE_CHECKING:
    from components.addons import AddonsArgs

# Where add-on controllers run: the `system` managed node group (label set by components.cluster on every node).
SYSTEM_NODE_SELECTOR: dict[str, str] = {"node.kubernetes.io/node-group": "system"}
SYSTEM_TOLERATIONS: list[dict[str, str]] = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class ChartSource:
    """Where an official chart is published."""

    chart: str
    repo: str | None = None  # None: `chart` is an OCI reference


CHARTS: dict[str, ChartSource] = {
    "load_balancer_controller": ChartSource("aws-load-balancer-controller", "https://aws.github.io/eks-charts"),
    "karpenter": ChartSource("oci://public.ecr.aws/karpenter/karpenter"),
    "metrics_server": ChartSource("metrics-server", "https://kubernetes-sigs.github.io/metrics-server/"),
    "vpa": ChartSource("vertical-pod-autoscaler", "https://kubernetes.github.io/autoscaler"),
    "external_secrets": ChartSource("external-secrets", "https://charts.external-secrets.io"),
    "argo_rollouts": ChartSource("argo-rollouts", "https://argoproj.github.io/argo-helm"),
    "cert_manager": ChartSource("cert-manager", "https://charts.jetstack.io"),
}
# Namespace of each add-on's controller (the IRSA trust policy pins it with the service account); owned by config,
# which keeps the workload out of these namespaces.
NAMESPACES: dict[str, str] = ADDON_NAMESPACES


def controller_placement() -> dict[str, Any]:
    """Helm values shared by every controller: run on the `system` node group, tolerating its taint."""
    return {"nodeSelector": dict(SYSTEM_NODE_SELECTOR), "tolerations": [dict(t) for t in SYSTEM_TOLERATIONS]}


def zone_spread(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """A topology spread over zones (best effort: never blocks scheduling when a zone is short of capacity)."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(labels)},
        }
    ]


def pdb(replicas: int) -> dict[str, Any]:
    """A PodDisruptionBudget only when there is a replica to spare (one with a single replica blocks drains)."""
    return {"enabled": True, "minAvailable": 1} if replicas > 1 else {"enabled": False}


def resource_name(name: str, key: str) -> str:
    """The name of an add-on's chart or role under the component: `<component>-<key with dashes>`."""
    return f"{name}-{key.replace('_', '-')}"


def chart(
    parent: PlatformComponent,
    name: str,
    key: str,
    addon: HelmAddonConfig,
    values: Mapping[str, Any],
    *,
    namespace: k8s.core.v1.Namespace | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.helm.v4.Chart:
    """The add-on `key`'s official chart at its pinned version, installed into `NAMESPACES[key]` (after
    `namespace` when the component declares that namespace itself) with `values`.

    Besides `depends_on` (its IRSA role and policy, say), it waits for the component's `waits_for`: the
    cluster with its nodes and core add-ons. Helm readiness means running controller pods, which need nodes to
    run on and CoreDNS to resolve the AWS endpoints they call."""
    source = CHARTS[key]
    return k8s.helm.v4.Chart(
        resource_name(name, key),
        chart=source.chart,
        version=addon.chart_version,
        repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=source.repo) if source.repo else None,
        namespace=NAMESPACES[key],
        values=dict(values),
        opts=parent.child_opts(depends_on=[*([namespace] if namespace else []), *depends_on, *parent.waits_for]),
    )


def irsa_role(
    parent: PlatformComponent,
    name: str,
    key: str,
    service_account: str,
    statements: list[dict[str, Any]],
    args: AddonsArgs,
    description: str,
) -> WorkloadRole:
    """The IRSA role of add-on `key`'s controller: trusted by exactly `NAMESPACES[key]`/`service_account`,
    allowed `statements` by its inline policy `<name>-<key>-policy`; the chart waits for its `ready`."""
    return workload_role(
        resource_name(name, key),
        namespace=NAMESPACES[key],
        service_account=service_account,
        oidc_provider_arn=args.oidc_provider_arn,
        oidc_issuer=args.oidc_issuer,
        statements=statements,
        parent=parent,
        description=description,
    )


def irsa_service_account(service_account: str, role: WorkloadRole) -> dict[str, Any]:
    """Chart values creating the controller's service account, annotated with its IRSA role."""
    return {"create": True, "name": service_account, "annotations": {IRSA_ANNOTATION: role.arn}}


def custom_resource_args(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A Kubernetes object as `k8s.apiextensions.CustomResource` keyword arguments."""
    return {"api_version": obj["apiVersion"], "kind": obj["kind"], "metadata": obj["metadata"], "spec": obj["spec"]}


@dataclass(frozen=True)
class Installed:
    """What installing one add-on declared that the component reports: its chart, and its IRSA role if any."""

    chart: k8s.helm.v4.Chart
    role: WorkloadRole | None
