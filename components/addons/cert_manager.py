"""cert-manager: certificates inside the cluster (admission webhooks, internal TLS between services), and the
cluster's own CA to issue them.

The chart installs its CRDs (kept on uninstall: deleting them would delete every Certificate and its Secret). The
controller, webhook and CA injector run on the `system` node group, spread over zones, with a PodDisruptionBudget
when there is a replica to spare, at `system-cluster-critical` priority (the webhook gates every cert-manager
object; evicting it for a workload pod would stall issuance), non-root with the chart's restricted security
contexts, and with resource requests. Leader election stays in the add-on's own namespace.

The internal CA: a self-signed `ClusterIssuer` only signs the CA `Certificate` (a 4096-bit RSA key kept across
renewals: every certificate it signed and every copy of `ca.crt` stays valid when the CA is renewed, long before
it expires); the CA `ClusterIssuer` `CA_ISSUER` signs with that key. A workload asks for internal TLS with a
`Certificate` whose `issuerRef` is `{kind: ClusterIssuer, name: ai-platform-internal-ca}` (README "DNS and
certificates").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi_kubernetes as k8s

from components.addons.charts import (
    Installed,
    chart,
    controller_placement,
    custom_resource_args,
    pdb,
    zone_spread,
)
from components.base import PlatformComponent
from config import PROJECT
from config.namespaces import ADDON_NAMESPACES

if TYPE_CHECKING:
    from components.addons import AddonsArgs
    from config.addons import CertManagerConfig

SELF_SIGNED_ISSUER = f"{PROJECT}-selfsigned"
CA_ISSUER = f"{PROJECT}-internal-ca"
CA_SECRET = f"{PROJECT}-internal-ca"
PRIORITY_CLASS = "system-cluster-critical"
_RESOURCES = {
    "controller": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    "webhook": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    "cainjector": {"requests": {"cpu": "20m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    "startupapicheck": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
}


def chart_values(addon: CertManagerConfig) -> dict[str, Any]:
    """Helm values of the cert-manager chart (keys checked against the pinned chart by tests/test_chart_values.py)."""
    placement = controller_placement()

    def deployment(component: str, name: str) -> dict[str, Any]:
        return {
            "replicaCount": addon.replicas,
            "podDisruptionBudget": pdb(addon.replicas),
            "resources": _RESOURCES[component],
            # The chart's selector labels: replicas spread over zones.
            "topologySpreadConstraints": zone_spread(
                {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}
            ),
            **placement,
        }

    return {
        "crds": {"enabled": True, "keep": True},
        "global": {
            "priorityClassName": PRIORITY_CLASS,
            "leaderElection": {"namespace": ADDON_NAMESPACES["cert_manager"]},
        },
        **deployment("controller", "cert-manager"),
        "webhook": deployment("webhook", "webhook"),
        "cainjector": deployment("cainjector", "cainjector"),
        "startupapicheck": {"resources": _RESOURCES["startupapicheck"], **placement},
        "prometheus": {"enabled": True},
    }


def self_signed_issuer() -> dict[str, Any]:
    """The bootstrap issuer: it signs the CA certificate with the CA's own key, nothing else."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": SELF_SIGNED_ISSUER},
        "spec": {"selfSigned": {}},
    }


def ca_certificate(addon: CertManagerConfig, namespace: str) -> dict[str, Any]:
    """The internal CA certificate, in the add-on's namespace (where a ClusterIssuer reads its Secret)."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": CA_SECRET, "namespace": namespace},
        "spec": {
            "isCA": True,
            "commonName": f"{PROJECT} internal CA",
            "secretName": CA_SECRET,
            "duration": f"{addon.ca_duration_hours}h",
            "renewBefore": f"{addon.ca_renew_before_hours}h",
            # Same key across renewals: certificates it signed and distributed copies of ca.crt stay valid.
            "privateKey": {"algorithm": "RSA", "size": 4096, "rotationPolicy": "Never"},
            "usages": ["cert sign", "crl sign"],
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": SELF_SIGNED_ISSUER},
        },
    }


def ca_issuer() -> dict[str, Any]:
    """The issuer workloads use for internal TLS: signs with the internal CA's key."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": CA_ISSUER},
        "spec": {"ca": {"secretName": CA_SECRET}},
    }


def install(parent: PlatformComponent, name: str, args: AddonsArgs, *, namespace: k8s.core.v1.Namespace) -> Installed:
    """Declare cert-manager under `parent`, in `namespace`, then the internal CA once the chart's CRDs and webhook
    exist (the CA issuer after the CA certificate it reads)."""
    addon = args.config.cert_manager
    installed = chart(parent, name, "cert_manager", addon, chart_values(addon), namespace=namespace)
    after_chart = parent.child_opts(depends_on=[installed])
    bootstrap = k8s.apiextensions.CustomResource(
        f"{name}-selfsigned-issuer", **custom_resource_args(self_signed_issuer()), opts=after_chart
    )
    certificate = k8s.apiextensions.CustomResource(
        f"{name}-internal-ca",
        **custom_resource_args(ca_certificate(addon, ADDON_NAMESPACES["cert_manager"])),
        opts=parent.child_opts(depends_on=[installed, bootstrap]),
    )
    k8s.apiextensions.CustomResource(
        f"{name}-internal-ca-issuer",
        **custom_resource_args(ca_issuer()),
        opts=parent.child_opts(depends_on=[installed, certificate]),
    )
    return Installed(chart=installed, role=None)
