"""What the log shipper and the trace collector (`logs`, `traces`) share: a namespace of their own, an IRSA role
allowed exactly what they write, and their official chart at the pinned version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from components.addons.charts import ChartSource
from components.base import PlatformComponent
from components.identity import WorkloadRole, workload_role
from lib.k8s import pod_security_labels

if TYPE_CHECKING:
    from components.observability import ObservabilityArgs

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def namespace(
    parent: PlatformComponent, name: str, namespace_name: str, kubernetes_version: str, level: str
) -> k8s.core.v1.Namespace:
    """The namespace `<name>-<namespace>-ns`, Pod Security `level` enforced, audited and warned."""
    return k8s.core.v1.Namespace(
        f"{name}-{namespace_name}-ns",
        metadata={"name": namespace_name, "labels": pod_security_labels(kubernetes_version, level)},
        opts=parent.child_opts(depends_on=list(parent.waits_for)),
    )


def irsa_role(
    parent: PlatformComponent,
    name: str,
    args: ObservabilityArgs,
    *,
    namespace_name: str,
    service_account: str,
    statements: Sequence[Mapping[str, Any]],
    description: str,
) -> WorkloadRole:
    """The IRSA role `<name>-role` of `namespace_name`/`service_account`, allowed `statements` by its inline policy
    `<name>-policy`; the chart waits for its `ready`."""
    return workload_role(
        name,
        namespace=namespace_name,
        service_account=service_account,
        oidc_provider_arn=args.oidc_provider_arn,
        oidc_issuer=args.oidc_issuer,
        statements=statements,
        parent=parent,
        description=description,
    )


def service_account_values(service_account: str, role: WorkloadRole) -> dict[str, Any]:
    """Chart values creating the service account `service_account`, bound to `role` (regional STS endpoint)."""
    return {
        "create": True,
        "name": service_account,
        "annotations": {IRSA_ANNOTATION: role.arn, "eks.amazonaws.com/sts-regional-endpoints": "true"},
    }


def chart(
    parent: PlatformComponent,
    name: str,
    source: ChartSource,
    version: str,
    namespace_name: str,
    values: Mapping[str, Any],
    depends_on: Sequence[pulumi.Resource],
) -> k8s.helm.v4.Chart:
    """The chart `source` at `version` in `namespace_name`, after `depends_on` (its namespace, role and policy) and
    the component's `waits_for` (the cluster: nodes to run on, CoreDNS to resolve the AWS endpoints)."""
    return k8s.helm.v4.Chart(
        name,
        chart=source.chart,
        version=version,
        repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=source.repo),
        namespace=namespace_name,
        values=dict(values),
        opts=parent.child_opts(depends_on=[*depends_on, *parent.waits_for]),
    )
