"""Alert rules and routing in the cluster.

- `install` declares one `PrometheusRule` per rule group of `rules.py` in the monitoring namespace (labelled with
  the chart's release, which the chart's Prometheus selects rules by), once the chart has installed the CRD; and the
  `ExternalSecret` syncing the alert receivers' secrets from Secrets Manager into the Kubernetes Secret Alertmanager
  mounts (`routing.RECEIVERS_SECRET`).
- `alertmanager_values` is the kube-prometheus-stack's `alertmanager` values: the routing of `routing.py` and the
  Secret to mount. `metrics.py` merges it into the chart's values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.observability import routing
from components.observability.rules import ApiSlo, RuleGroup, render_group, rule_groups
from lib.k8s import WAIT_FOR_READY, object_metadata

if TYPE_CHECKING:
    from components.observability import ObservabilityArgs
    from components.observability.metrics import MetricsStack

LABELS = {"app.kubernetes.io/part-of": "ai-platform", "app.kubernetes.io/component": "alerting"}
# How often external-secrets re-reads the receivers' secrets (a rotated Slack URL arrives within this).
REFRESH_INTERVAL = "1h"


def groups_of(args: ObservabilityArgs) -> tuple[RuleGroup, ...]:
    """The rule groups of a stack: the ai-api's SLO rules only when the stack runs the ai-api."""
    return rule_groups(ApiSlo.from_config(args.api) if args.api is not None else None)


def prometheus_rule(group: RuleGroup, namespace: str, release: str, runbooks_url: str) -> dict[str, Any]:
    """The `PrometheusRule` of one rule group; the `release` label makes the chart's Prometheus load it."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": object_metadata(f"ai-platform-{group.name}", namespace, {**LABELS, "release": release}),
        "spec": {"groups": [render_group(group, runbooks_url)]},
    }


def receivers_secret(args: ObservabilityArgs) -> str | None:
    """The Kubernetes Secret holding the receivers' secrets, or None when the stack has no ClusterSecretStore to
    sync them through (then Alertmanager routes every alert to `null`)."""
    return routing.RECEIVERS_SECRET if args.cluster_secret_store_name is not None else None


def external_secret(args: ObservabilityArgs, namespace: str, store_name: str) -> dict[str, Any]:
    """The `ExternalSecret` syncing each receiver secret `<prefix>observability/<key>` (a plain string) into one
    Kubernetes Secret; it counts as created once the Secret exists (every AWS secret must exist first)."""
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": object_metadata(routing.RECEIVERS_SECRET, namespace, LABELS, annotations=dict(WAIT_FOR_READY)),
        "spec": {
            "refreshInterval": REFRESH_INTERVAL,
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": store_name},
            "target": {"name": routing.RECEIVERS_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
            "data": [
                {"secretKey": secret.key, "remoteRef": {"key": aws_secret_name(args.secrets_path_prefix, secret)}}
                for secret in routing.receiver_secrets(args.config.routing)
            ],
        },
    }


def aws_secret_name(secrets_path_prefix: str, secret: routing.ReceiverSecret) -> str:
    """The Secrets Manager name of a receiver secret: `ai-platform/<stack>/observability/<key>`."""
    return f"{secrets_path_prefix}observability/{secret.key}"


def alertmanager_values(args: ObservabilityArgs, secrets: str | None) -> dict[str, Any]:
    """The kube-prometheus-stack's `alertmanager` values: the configuration, and the receivers' Secret `secrets`
    mounted into Alertmanager (None: no Secret, every alert routed to `null`). `metrics.py` deep-merges this into
    the chart's values, with `secrets=receivers_secret(args)`."""
    if secrets is None:
        return {"alertmanager": {"config": routing.silent_config()}}
    config = routing.alertmanager_config(args.config.routing, args.aws.region, args.aws.dns_suffix)
    return {"alertmanager": {"config": config, "alertmanagerSpec": {"secrets": [secrets]}}}


def install(parent: PlatformComponent, name: str, args: ObservabilityArgs, stack: MetricsStack) -> None:
    """Declare the rules (after the chart's CRDs) and the receivers' ExternalSecret (after external-secrets)."""
    runbooks_url = args.config.routing.runbooks_url
    after_crds = parent.child_opts(depends_on=[*parent.waits_for, *stack.crds_ready])
    for group in groups_of(args):
        rule = prometheus_rule(group, stack.namespace, stack.release, runbooks_url)
        k8s.apiextensions.CustomResource(
            f"{name}-rules-{group.name}",
            api_version=rule["apiVersion"],
            kind=rule["kind"],
            metadata=rule["metadata"],
            spec=rule["spec"],
            opts=after_crds,
        )
    if args.cluster_secret_store_name is None:
        return
    secret = external_secret(args, stack.namespace, args.cluster_secret_store_name)
    k8s.apiextensions.CustomResource(
        f"{name}-alert-receivers",
        api_version=secret["apiVersion"],
        kind=secret["kind"],
        metadata=secret["metadata"],
        spec=secret["spec"],
        # The monitoring namespace comes with the chart; the ExternalSecret CRD with the external-secrets add-on.
        opts=parent.child_opts(depends_on=[*parent.waits_for, *args.secrets_ready, *stack.crds_ready]),
    )
