"""What keeps ai-api available, contained and sized: the HPA, the PodDisruptionBudget, the NetworkPolicies and a
recommendation-only VerticalPodAutoscaler."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components.ai_api.names import APP, CONTAINER_PORT, LABELS, METRICS_PORT, SELECTOR
from config.api import ApiConfig, ApiHpaConfig
from lib.k8s import object_metadata


def autoscaler_spec(hpa: ApiHpaConfig, workload_ref: Mapping[str, str]) -> dict[str, Any]:
    """CPU-driven scaling within the configured bounds: up fast (the larger of a share and 4 pods), down slowly."""
    return {
        "scaleTargetRef": dict(workload_ref),
        "minReplicas": hpa.min_replicas,
        "maxReplicas": hpa.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": hpa.cpu_target_percent},
                },
            }
        ],
        "behavior": {
            "scaleUp": {
                "stabilizationWindowSeconds": hpa.scale_up_stabilization_seconds,
                "selectPolicy": "Max",
                "policies": [
                    {"type": "Percent", "value": hpa.scale_up_percent, "periodSeconds": hpa.period_seconds},
                    {"type": "Pods", "value": 4, "periodSeconds": hpa.period_seconds},
                ],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": hpa.scale_down_stabilization_seconds,
                "selectPolicy": "Min",
                "policies": [{"type": "Percent", "value": hpa.scale_down_percent, "periodSeconds": hpa.period_seconds}],
            },
        },
    }


VPA_API = "autoscaling.k8s.io/v1"


def vertical_autoscaler_spec(workload_ref: Mapping[str, str]) -> dict[str, Any]:
    """Recommendations only (`updateMode: Off`) for the container's CPU and memory requests of `workload_ref`.

    A Rollout is a valid target: the recommender finds any workload's pods through its scale subresource, which
    Argo Rollouts implements. `Off` never evicts or resizes a pod, so it cannot fight the HPA, which scales on CPU
    relative to the requests: people read the recommendation and change `api.resources` in a reviewed change.
    """
    return {
        "targetRef": dict(workload_ref),
        "updatePolicy": {"updateMode": "Off"},
        "resourcePolicy": {
            "containerPolicies": [{"containerName": APP, "controlledResources": ["cpu", "memory"]}],
        },
    }


def recommendation_only_autoscaler(
    name: str, namespace: str, workload_ref: Mapping[str, str], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """Declare the VerticalPodAutoscaler `<name>-vpa` (`ai-api` in `namespace`) recommending requests for the
    workload; needs the VPA add-on (its chart installs the CRD and the recommender that fills in the status)."""
    return k8s.apiextensions.CustomResource(
        f"{name}-vpa",
        api_version=VPA_API,
        kind="VerticalPodAutoscaler",
        metadata=object_metadata(APP, namespace, LABELS),
        spec=vertical_autoscaler_spec(workload_ref),
        opts=opts,
    )


def collector_egress(otlp_endpoint: str) -> dict[str, Any]:
    """Egress to the trace collector: its namespace (the endpoint's `<service>.<namespace>.svc` host), on the
    endpoint's port only."""
    url = urlsplit(otlp_endpoint)
    labels = (url.hostname or "").split(".")
    if len(labels) < 3 or labels[2] != "svc" or url.port is None:
        raise ValueError(
            f"{otlp_endpoint!r} is not an in-cluster Service address http://<service>.<namespace>.svc:<port>"
        )
    return {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": labels[1]}}}],
        "ports": [{"protocol": "TCP", "port": url.port}],
    }


def network_policy_specs(
    config: ApiConfig,
    load_balancer_cidrs: Sequence[pulumi.Input[str]],
    database_cidrs: Sequence[pulumi.Input[str]],
    database_port: pulumi.Input[int],
    monitoring_namespace: str | None = None,
    otlp_endpoint: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Default deny in the namespace; then only the ALB (to the HTTP port) and Prometheus from
    `monitoring_namespace` (to the metrics port; none without one) in, and DNS, PostgreSQL, HTTPS and (with a
    collector) OTLP to the trace collector out."""
    http = [{"protocol": "TCP", "port": CONTAINER_PORT}]
    ingress: list[dict[str, Any]] = [
        # The ALB (target type ip) reaches the pods from its addresses in the public subnets.
        {"from": [{"ipBlock": {"cidr": cidr}} for cidr in load_balancer_cidrs], "ports": http},
    ]
    if monitoring_namespace is not None:
        monitoring = {"kubernetes.io/metadata.name": monitoring_namespace}
        ingress.append(
            {
                "from": [{"namespaceSelector": {"matchLabels": monitoring}}],
                "ports": [{"protocol": "TCP", "port": METRICS_PORT}],
            }
        )
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-ingress": {
            "podSelector": {"matchLabels": SELECTOR},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
        "allow-egress": {
            "podSelector": {"matchLabels": SELECTOR},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
                {
                    "to": [{"ipBlock": {"cidr": cidr}} for cidr in database_cidrs],
                    "ports": [{"protocol": "TCP", "port": database_port}],
                },
                # AWS APIs (S3, SSM, STS): interface endpoints in the VPC and public endpoints through NAT or the
                # S3 gateway endpoint; never the instance metadata service (pods use IRSA, not the node role).
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}],
                    "ports": [{"protocol": "TCP", "port": 443}],
                },
                *([collector_egress(otlp_endpoint)] if otlp_endpoint else []),
            ],
        },
    }


def availability_and_isolation(
    name: str,
    config: ApiConfig,
    *,
    workload_ref: Mapping[str, str],
    load_balancer_cidrs: Sequence[pulumi.Input[str]],
    database_cidrs: Sequence[pulumi.Input[str]],
    database_port: pulumi.Input[int],
    monitoring_namespace: str | None,
    otlp_endpoint: str | None = None,
    opts: pulumi.ResourceOptions,
) -> None:
    """Declare the HPA of the workload (`workload_ref`), its PodDisruptionBudget and the namespace's policies.

    Children: `<name>-hpa`, `<name>-pdb` and `<name>-netpol-<policy>` (`default-deny`, `allow-ingress`,
    `allow-egress`), all in `config.namespace`; `opts` carries the parent and the wait for the namespace.
    """
    namespace = config.namespace
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"{name}-hpa",
        metadata=object_metadata(APP, namespace, LABELS),
        spec=autoscaler_spec(config.hpa, workload_ref),
        opts=opts,
    )
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-pdb",
        metadata=object_metadata(APP, namespace, LABELS),
        spec={
            "maxUnavailable": config.pdb_max_unavailable,
            "selector": {"matchLabels": SELECTOR},
            # A crash-looping pod must not block a node drain.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
        opts=opts,
    )
    specs = network_policy_specs(
        config, load_balancer_cidrs, database_cidrs, database_port, monitoring_namespace, otlp_endpoint
    )
    for policy_name, spec in specs.items():
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol-{policy_name}",
            metadata=object_metadata(f"{APP}-{policy_name}", namespace, LABELS),
            spec=spec,
            opts=opts,
        )
