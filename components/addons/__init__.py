"""Add-ons: the controllers every production cluster runs, each from its official Helm chart at a pinned version.

- AWS Load Balancer Controller: ALBs/NLBs for Ingresses and Services, with AWS's documented IAM policy, scoped to
  this account and region, to this VPC and to load balancers tagged as this cluster's.
- Karpenter: node autoscaling for workloads (controller role, node role with its EKS access entry, the SQS
  interruption queue and its EventBridge rules, a default `EC2NodeClass` and `NodePool` with limits, consolidation
  and a disruption budget). The `system` managed node group only runs add-ons.
- metrics-server (resource metrics for HPA and `kubectl top`), and the Vertical Pod Autoscaler's recommender
  only: without updater and admission controller a VPA object can only recommend, never evict or resize pods.
- external-secrets, whose role may read only this stack's Secrets Manager path, and a `ClusterSecretStore`.
- Argo Rollouts, the progressive delivery controller the ai-api workload's Rollout needs.
- cert-manager with the cluster's internal CA (a CA ClusterIssuer for webhooks and internal TLS).
- The cluster's default StorageClass (gp3, encrypted, expandable, WaitForFirstConsumer).

Charts are `kubernetes.helm.v4.Chart`: it renders the chart in the program and registers every object as its own
resource, so `pulumi preview` and the policy pack see the real Deployments, ServiceAccounts and RBAC. Each add-on's
controllers run on the `system` node group (node selector + toleration of its CriticalAddonsOnly taint) and are
spread over zones when they have more than one replica. Every add-on can be switched off per stack in config.

Layout: one module per add-on, whose `install(parent, name, args)` declares that add-on's resources under the
component and returns what the component reports; `iam.py` holds the vendors' IAM statements (pure functions),
`charts.py` the chart, IRSA role and placement plumbing they share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons import (
    argo_rollouts,
    cert_manager,
    external_secrets,
    karpenter,
    load_balancer_controller,
    metrics_server,
    vpa,
)
from components.addons.charts import CHARTS, NAMESPACES, ChartSource, Installed
from components.addons.external_secrets import CLUSTER_SECRET_STORE_NAME
from components.base import PlatformComponent
from config import AddonsConfig
from config.maintenance import MaintenanceConfig
from lib.aws import AwsContext
from lib.k8s import pod_security_labels

__all__ = [
    "CHARTS",
    "CLUSTER_SECRET_STORE_NAME",
    "DEFAULT_STORAGE_CLASS",
    "NAMESPACES",
    "Addons",
    "AddonsArgs",
    "ChartSource",
]

DEFAULT_STORAGE_CLASS = "gp3"
# Add-ons whose controllers get a namespace of their own (the others run in kube-system).
OWN_NAMESPACE: tuple[str, ...] = ("external_secrets", "argo_rollouts", "cert_manager")


@dataclass(frozen=True)
class AddonsArgs:
    """Inputs of `Addons`.

    config: the `ai-platform:addons` section.
    cluster_name: the EKS cluster's name (plain, so chart values stay known at preview).
    oidc_provider_arn / oidc_issuer: the cluster's IRSA identity provider.
    vpc_id: the platform VPC (load balancer controller, scoping of its security-group creation).
    private_subnet_ids: where Karpenter launches nodes.
    node_security_group_id: the security group Karpenter nodes get (same as the managed node groups').
    imds_hop_limit: IMDSv2 hop limit of Karpenter nodes (the cluster config's, for one behaviour on every node).
    secrets_path_prefix: the Secrets Manager name prefix external-secrets may read, e.g. `ai-platform/prod/`.
    node_tags: tags Karpenter puts on the instances, volumes and ENIs it launches (cost allocation, ownership).
    aws: account, partition and region.
    kubernetes_version: the cluster's version ("1.34"): pins the namespaces' Pod Security Admission version.
    maintenance: the `ai-platform:maintenance` section: when Karpenter may replace nodes (its NodePool budgets).
    """

    config: AddonsConfig
    cluster_name: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    node_security_group_id: pulumi.Input[str]
    imds_hop_limit: int
    secrets_path_prefix: str
    node_tags: Mapping[str, str]
    aws: AwsContext
    kubernetes_version: str
    maintenance: MaintenanceConfig


class Addons(PlatformComponent):
    """The cluster's Helm add-ons, their IAM roles, Karpenter's default pool and the default StorageClass.

    Needs the `aws` and `kubernetes` providers in `opts.providers`; `opts.depends_on` is what every chart waits
    for besides its own IRSA role and policy (the cluster: nodes to run on, CoreDNS). Consumers wait for the
    add-on they use through `secrets_ready`, `load_balancer_ready`, `rollouts_ready` and `capacity_ready`.
    """

    area = "addons"

    def __init__(self, name: str, args: AddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config = args.config
        self.secrets_path_prefix: str = args.secrets_path_prefix
        self.storage_class = default_storage_class(self, name)
        self.storage_class_name = DEFAULT_STORAGE_CLASS
        self.namespaces = controller_namespaces(self, name, config, args.kubernetes_version)

        # Each add-on in install order; a switched-off add-on declares nothing, AWS side included.
        installed: dict[str, Installed] = {}
        if config.load_balancer_controller.enabled:
            installed["load_balancer_controller"] = load_balancer_controller.install(self, name, args)
        self.karpenter_node_role_name: str | None = None
        self.karpenter_interruption_queue_name: pulumi.Output[str] | None = None
        if config.karpenter.enabled:
            installed["karpenter"] = nodes = karpenter.install(self, name, args)
            self.karpenter_node_role_name = nodes.node_role_name
            self.karpenter_interruption_queue_name = nodes.interruption_queue_name
            self.ec2_node_class, self.node_pool = nodes.ec2_node_class, nodes.node_pool
        if config.metrics_server.enabled:
            installed["metrics_server"] = metrics_server.install(self, name, args)
        if config.vpa.enabled:
            installed["vpa"] = vpa.install(self, name, args)
        self.cluster_secret_store_name: str | None = None
        if config.external_secrets.enabled:
            secrets = external_secrets.install(self, name, args, namespace=self.namespaces["external_secrets"])
            installed["external_secrets"] = secrets
            self.cluster_secret_store = secrets.cluster_secret_store
            self.cluster_secret_store_name = CLUSTER_SECRET_STORE_NAME
        self.argo_rollouts_enabled: bool = config.argo_rollouts.enabled
        if config.argo_rollouts.enabled:
            installed["argo_rollouts"] = argo_rollouts.install(
                self, name, args, namespace=self.namespaces["argo_rollouts"]
            )

        # Internal TLS: the CA ClusterIssuer workloads name in their Certificates (none without cert-manager).
        self.internal_ca_issuer_name: str | None = None
        if config.cert_manager.enabled:
            installed["cert_manager"] = cert_manager.install(
                self, name, args, namespace=self.namespaces["cert_manager"]
            )
            self.internal_ca_issuer_name = cert_manager.CA_ISSUER

        self.charts: dict[str, k8s.helm.v4.Chart] = {key: addon.chart for key, addon in installed.items()}
        self.roles: dict[str, aws.iam.Role] = {
            key: addon.role.role for key, addon in installed.items() if addon.role is not None
        }
        self._readiness(installed)
        self.register_outputs(
            {
                "charts": {key: chart.urn for key, chart in self.charts.items()},
                "role_arns": {key: role.arn for key, role in self.roles.items()},
                **{
                    key: [resource.urn for resource in getattr(self, key)]
                    for key in ("secrets_ready", "load_balancer_ready", "rollouts_ready", "capacity_ready", "vpa_ready")
                },
                "storage_class_name": self.storage_class_name,
                "cluster_secret_store_name": self.cluster_secret_store_name,
                "secrets_path_prefix": self.secrets_path_prefix,
                "argo_rollouts_enabled": self.argo_rollouts_enabled,
                "karpenter_node_role_name": self.karpenter_node_role_name,
                "karpenter_interruption_queue_name": self.karpenter_interruption_queue_name,
                "internal_ca_issuer_name": self.internal_ca_issuer_name,
            }
        )

    def _readiness(self, installed: dict[str, Installed]) -> None:
        """What a consumer of each capability waits for, so it waits for that add-on only (never for the whole
        component, which would make it wait for every chart). Empty when the add-on is switched off.

        - `secrets_ready`: the external-secrets chart (SecretStore/ExternalSecret CRDs and webhook, controller).
        - `load_balancer_ready`: the AWS Load Balancer Controller chart (Ingresses; pods whose ALB readiness gates
          its webhook injects).
        - `rollouts_ready`: the Argo Rollouts chart (Rollout and AnalysisTemplate CRDs, controller).
        - `vpa_ready`: the Vertical Pod Autoscaler chart (VerticalPodAutoscaler CRD, recommender).
        - `capacity_ready`: what workload pods (which do not tolerate the `system` group's taint) need to be
          scheduled: Karpenter's chart, EC2NodeClass and NodePool.
        """

        def chart_of(key: str) -> tuple[pulumi.Resource, ...]:
            return (installed[key].chart,) if key in installed else ()

        self.secrets_ready: tuple[pulumi.Resource, ...] = chart_of("external_secrets")
        self.load_balancer_ready: tuple[pulumi.Resource, ...] = chart_of("load_balancer_controller")
        self.rollouts_ready: tuple[pulumi.Resource, ...] = chart_of("argo_rollouts")
        self.vpa_ready: tuple[pulumi.Resource, ...] = chart_of("vpa")
        self.capacity_ready: tuple[pulumi.Resource, ...] = (
            (*chart_of("karpenter"), self.ec2_node_class, self.node_pool) if "karpenter" in installed else ()
        )


def default_storage_class(parent: PlatformComponent, name: str) -> k8s.storage.v1.StorageClass:
    """The cluster's default StorageClass: EBS gp3, encrypted, expandable, bound when the pod is scheduled (so the
    volume is created in the pod's zone)."""
    return k8s.storage.v1.StorageClass(
        f"{name}-gp3",
        metadata={
            "name": DEFAULT_STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        provisioner="ebs.csi.aws.com",
        parameters={"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
        reclaim_policy="Delete",
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        opts=parent.child_opts(),
    )


def controller_namespaces(
    parent: PlatformComponent, name: str, config: AddonsConfig, kubernetes_version: str
) -> dict[str, k8s.core.v1.Namespace]:
    """The namespaces of the enabled add-ons in `OWN_NAMESPACE`, by add-on key. Pod Security Admission: their
    controllers run with the restricted profile."""
    return {
        key: k8s.core.v1.Namespace(
            f"{name}-{NAMESPACES[key]}-ns",
            metadata={"name": NAMESPACES[key], "labels": pod_security_labels(kubernetes_version)},
            opts=parent.child_opts(),
        )
        for key in OWN_NAMESPACE
        if getattr(config, key).enabled
    }
