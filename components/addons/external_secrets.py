"""external-secrets: syncs this stack's Secrets Manager secrets into Kubernetes Secrets. Its IRSA role may read only
this stack's path (`iam.py`); the `ClusterSecretStore` every namespace's ExternalSecrets use authenticates as it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi_kubernetes as k8s

from components.addons.charts import (
    Installed,
    chart,
    controller_placement,
    custom_resource_args,
    irsa_role,
    irsa_service_account,
    pdb,
    zone_spread,
)
from components.addons.iam import external_secrets_statements
from components.base import PlatformComponent

if TYPE_CHECKING:
    from components.addons import AddonsArgs

EXTERNAL_SECRETS_SERVICE_ACCOUNT = "external-secrets"
CLUSTER_SECRET_STORE_NAME = "aws-secrets-manager"  # noqa: S105 - a resource name, not a password


@dataclass(frozen=True)
class ExternalSecretsInstalled(Installed):
    """The chart and controller role, plus the `ClusterSecretStore` (named `CLUSTER_SECRET_STORE_NAME`)."""

    cluster_secret_store: k8s.apiextensions.CustomResource


def install(
    parent: PlatformComponent, name: str, args: AddonsArgs, *, namespace: k8s.core.v1.Namespace
) -> ExternalSecretsInstalled:
    """Declare external-secrets under `parent`, in `namespace`: its role, its chart (controller, webhook and cert
    controller on the `system` group), then the `ClusterSecretStore` once the chart's CRDs exist."""
    addon = args.config.external_secrets
    role = irsa_role(
        parent,
        name,
        "external_secrets",
        EXTERNAL_SECRETS_SERVICE_ACCOUNT,
        external_secrets_statements(args.aws, args.secrets_path_prefix),
        args,
        f"external-secrets of {args.cluster_name}: reads {args.secrets_path_prefix}*",
    )
    placement = controller_placement()
    installed = chart(
        parent,
        name,
        "external_secrets",
        addon,
        {
            "installCRDs": True,
            "replicaCount": addon.replicas,
            "leaderElect": addon.replicas > 1,
            "serviceAccount": irsa_service_account(EXTERNAL_SECRETS_SERVICE_ACCOUNT, role),
            "podDisruptionBudget": pdb(addon.replicas),
            # The chart's selector labels: controller and webhook replicas spread over zones.
            "topologySpreadConstraints": zone_spread({"app.kubernetes.io/name": "external-secrets"}),
            **placement,
            "webhook": {
                "replicaCount": addon.replicas,
                "podDisruptionBudget": pdb(addon.replicas),
                "topologySpreadConstraints": zone_spread({"app.kubernetes.io/name": "external-secrets-webhook"}),
                **placement,
            },
            "certController": {"replicaCount": 1, **placement},
        },
        namespace=namespace,
        depends_on=role.ready,
    )
    store = k8s.apiextensions.CustomResource(
        f"{name}-cluster-secret-store",
        **custom_resource_args(cluster_secret_store(args.aws.region)),
        opts=parent.child_opts(depends_on=[installed]),
    )
    return ExternalSecretsInstalled(chart=installed, role=role, cluster_secret_store=store)


def cluster_secret_store(region: str) -> dict[str, Any]:
    """The `ClusterSecretStore` for AWS Secrets Manager; it authenticates as the controller's IRSA role, which can
    only read this stack's prefix."""
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": CLUSTER_SECRET_STORE_NAME},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": region}}},
    }
