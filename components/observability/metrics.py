"""The metrics stack: kube-prometheus-stack (Prometheus Operator, Prometheus, Alertmanager, Grafana,
kube-state-metrics, node-exporter), Grafana's admin password, the dashboards and the optional remote write to Amazon
Managed Service for Prometheus.

Namespaces: `monitoring` runs everything under Pod Security `restricted`; node-exporter, which must see the node
(host network, host PID namespace, the host's root filesystem read-only), runs alone in `node-exporter` under
`privileged`, so nothing else of the stack (Grafana holds an admin password, Prometheus every metric) runs unconfined.

Nothing is exposed outside the cluster: every Service is ClusterIP (README "Observability": port-forward, or an
internal ALB). `fullnameOverride` pins the objects' names, so the addresses below do not depend on the Pulumi
resource name: `kube-prometheus-stack-prometheus.monitoring.svc:9090`, `...-alertmanager...:9093`.

The chart's admission webhooks are off: their certificates come from Helm hook Jobs that rewrite the webhook
configurations after install, which a `helm template` + apply deployment (Pulumi's Chart v4) would revert on every
update. The operator still rejects an invalid rule when it reconciles it, and the platform's rules are checked with
promtool in the tests. Control-plane targets EKS does not expose (scheduler, controller manager, etcd, kube-proxy's
localhost-bound metrics) are neither scraped nor alerted on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.addons.charts import SYSTEM_NODE_SELECTOR, SYSTEM_TOLERATIONS, pdb, zone_spread
from components.base import PlatformComponent
from components.identity import WorkloadRole, workload_role
from components.observability import alerting, dashboards
from config.loader import deep_merge
from config.namespaces import MONITORING_NAMESPACE, NODE_EXPORTER_NAMESPACE
from lib.k8s import WAIT_FOR_READY, object_metadata, pod_security_labels

if TYPE_CHECKING:
    from components.observability import ObservabilityArgs

NAMESPACE = MONITORING_NAMESPACE
CHART = "kube-prometheus-stack"
CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
RELEASE = "kube-prometheus-stack"
# `fullnameOverride`: the prefix of every object the chart names (at most 26 characters, the chart truncates).
FULLNAME = "kube-prometheus-stack"
PROMETHEUS_NAME = f"{FULLNAME}-prometheus"  # the Service, the Prometheus object and its service account
ALERTMANAGER_NAME = f"{FULLNAME}-alertmanager"  # the Service and the Alertmanager object
GRAFANA_SERVICE = f"{RELEASE}-grafana"  # the grafana subchart's `<release>-grafana`
PROMETHEUS_PORT, ALERTMANAGER_PORT, GRAFANA_PORT = 9090, 9093, 80
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105 - the Kubernetes Secret's name, not a password
GRAFANA_ADMIN_USER = "admin"
LABELS: dict[str, str] = {"app.kubernetes.io/part-of": "ai-platform", "app.kubernetes.io/managed-by": "pulumi"}
# The policy pack's tag for a secret no SecretRotation rotates (README "Policy gate", conventions).
ROTATION_TAG = "ai-platform/rotation"
# Default rule groups about what EKS keeps out of reach (etcd, the scheduler, the controller manager), kube-proxy's
# metrics (bound to localhost on EKS) and Windows nodes (none): they would only ever say "target down".
UNREACHABLE_RULE_GROUPS = ("etcd", "kubeControllerManager", "kubeProxy", "kubeSchedulerAlerting",
                           "kubeSchedulerRecording", "windows")  # fmt: skip
# The chart's default alerts that the platform's own rules (components/observability/rules.py) replace, with
# runbooks of ours: left on, every such incident would notify twice with two different runbook links.
SUPERSEDED_DEFAULT_ALERTS: tuple[str, ...] = (
    "Watchdog", "KubePodCrashLooping", "KubeNodeNotReady", "KubeHpaMaxedOut", "CPUThrottlingHigh",
    "KubePersistentVolumeFillingUp", "NodeFilesystemSpaceFillingUp",
)  # fmt: skip
# Retention by size stops at this share of the volume, before the disk fills up (WAL and compaction need room).
RETENTION_SIZE_SHARE = 0.85


@dataclass(frozen=True)
class MetricsStack:
    """What the rest of observability and the workload use of the metrics stack.

    prometheus_address / alertmanager_address / grafana_address: in-cluster URLs of the release's Services.
    release: the Helm release name (label `release` on the chart's objects).
    crds_ready: the chart (its CRDs: PrometheusRule, ServiceMonitor, AlertmanagerConfig...; the operator).
    secrets_kms_key_arn: the key of the observability stack's own secrets (Grafana's admin password): the logs key;
        external-secrets can decrypt with it through Secrets Manager for secrets under the stack's prefix.
    amp_workspace_arn: the Amazon Managed Service for Prometheus workspace when remote write is on, else None.
    """

    namespace: str
    prometheus_address: str
    alertmanager_address: str
    release: str
    crds_ready: tuple[pulumi.Resource, ...]
    grafana_address: str = f"http://{GRAFANA_SERVICE}.{NAMESPACE}.svc:{GRAFANA_PORT}"
    secrets_kms_key_arn: pulumi.Input[str] | None = None
    amp_workspace_arn: pulumi.Output[str] | None = None


def install(parent: PlatformComponent, name: str, args: ObservabilityArgs) -> MetricsStack:
    """Declare the namespaces, Grafana's admin secret, the optional AMP workspace and its role, the chart and the
    dashboards under `parent`; the chart waits for all it references and for `parent.waits_for` (the cluster)."""
    if args.cluster_secret_store_name is None:
        raise ValueError("observability needs external-secrets (Grafana's admin password): enable it in addons")
    monitoring, node_exporter = namespaces(parent, name, args.kubernetes_version)
    in_monitoring = parent.child_opts(depends_on=[*parent.waits_for, monitoring])
    admin_secret = grafana_admin(parent, name, args, in_monitoring)
    remote_write: RemoteWrite | None = None
    if args.config.prometheus.remote_write_amp:
        remote_write = amp_remote_write(parent, name, args)
    waits = [*parent.waits_for, monitoring, node_exporter, admin_secret, *(remote_write.ready if remote_write else ())]
    chart = k8s.helm.v4.Chart(
        f"{name}-kube-prometheus-stack",
        chart=CHART,
        version=args.config.kube_prometheus_stack_version,
        repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=CHART_REPOSITORY),
        name=RELEASE,
        namespace=NAMESPACE,
        values=chart_values(args, remote_write),
        opts=parent.child_opts(depends_on=waits),
    )
    dashboards.config_maps(name, NAMESPACE, in_monitoring)
    return MetricsStack(
        namespace=NAMESPACE,
        prometheus_address=f"http://{PROMETHEUS_NAME}.{NAMESPACE}.svc:{PROMETHEUS_PORT}",
        alertmanager_address=f"http://{ALERTMANAGER_NAME}.{NAMESPACE}.svc:{ALERTMANAGER_PORT}",
        release=RELEASE,
        crds_ready=(chart,),
        secrets_kms_key_arn=args.logs_kms_key_arn,
        amp_workspace_arn=remote_write.workspace.arn if remote_write else None,
    )


def namespaces(
    parent: PlatformComponent, name: str, kubernetes_version: str
) -> tuple[k8s.core.v1.Namespace, k8s.core.v1.Namespace]:
    """`monitoring` (Pod Security restricted) and `node-exporter` (privileged: host network, PID and filesystem)."""

    def namespace(role: str, namespace_name: str, level: str) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(
            f"{name}-{role}-namespace",
            metadata={"name": namespace_name, "labels": {**LABELS, **pod_security_labels(kubernetes_version, level)}},
            opts=parent.child_opts(depends_on=list(parent.waits_for)),
        )

    return namespace("monitoring", NAMESPACE, "restricted"), namespace(
        "node-exporter", NODE_EXPORTER_NAMESPACE, "privileged"
    )


def grafana_admin(
    parent: PlatformComponent, name: str, args: ObservabilityArgs, in_monitoring: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """Grafana's admin password: generated (a secret in state), stored in Secrets Manager under the stack's prefix
    and synced by external-secrets into the Secret `grafana-admin` that Grafana reads (`admin.existingSecret`). It
    never appears in a manifest or the chart's values.

    Encrypted with the logs key, the platform's telemetry key: the password guards Grafana, which shows nothing but
    telemetry, so whoever may decrypt with that key can already read what it protects (a key of its own would
    open nothing more). external-secrets decrypts it through Secrets Manager, for secrets under its prefix only.

    Returns the ExternalSecret (counted created once its Secret exists: Grafana's pods need it).
    """
    password = random.RandomPassword(
        f"{name}-grafana-admin-password",
        length=32,
        special=False,  # safe in any client and URL; 32 of [A-Za-z0-9] are ~190 bits
        opts=parent.child_opts(additional_secret_outputs=["result"]),
    )
    secret = aws.secretsmanager.Secret(
        f"{name}-grafana-admin",
        name=f"{args.secrets_path_prefix}observability/grafana-admin",
        description=f"Grafana admin login of {args.cluster_name} (synced into {NAMESPACE}/{GRAFANA_ADMIN_SECRET})",
        kms_key_id=args.logs_kms_key_arn,
        recovery_window_in_days=7,
        # Rotated by its issuer, this program, on demand (README "Observability"): replace the RandomPassword, then
        # restart Grafana, which applies the admin password from the Secret at start (no persistent database).
        tags={ROTATION_TAG: "external"},
        opts=parent.child_opts(),
    )
    version = aws.secretsmanager.SecretVersion(
        f"{name}-grafana-admin-version",
        secret_id=secret.id,
        # Secret in state: the password's secrecy carries over to the JSON built from it.
        secret_string=pulumi.Output.json_dumps({"admin-user": GRAFANA_ADMIN_USER, "admin-password": password.result}),
        opts=parent.child_opts(),
    )
    external_secret = k8s.apiextensions.CustomResource(
        f"{name}-grafana-admin-external-secret",
        api_version="external-secrets.io/v1",
        kind="ExternalSecret",
        metadata=object_metadata(GRAFANA_ADMIN_SECRET, NAMESPACE, LABELS, annotations=dict(WAIT_FOR_READY)),
        spec={
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": args.cluster_secret_store_name},
            "target": {"name": GRAFANA_ADMIN_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
            "data": [
                {"secretKey": key_name, "remoteRef": {"key": secret.name, "property": key_name}}
                for key_name in ("admin-user", "admin-password")
            ],
        },
        opts=pulumi.ResourceOptions.merge(
            in_monitoring, pulumi.ResourceOptions(depends_on=[*args.secrets_ready, version])
        ),
    )
    return external_secret


@dataclass(frozen=True)
class RemoteWrite:
    """The AMP workspace and the IRSA role Prometheus's service account assumes to write to it."""

    workspace: aws.amp.Workspace
    role: WorkloadRole
    endpoint: pulumi.Output[str]

    @property
    def ready(self) -> list[pulumi.Resource]:
        return self.role.ready


def amp_remote_write(parent: PlatformComponent, name: str, args: ObservabilityArgs) -> RemoteWrite:
    """An AMP workspace encrypted with the logs key (metrics are telemetry like the container logs: one data class,
    one key) and an IRSA role for `monitoring/kube-prometheus-stack-prometheus` allowed `aps:RemoteWrite` on it only.
    """
    workspace = aws.amp.Workspace(
        f"{name}-amp", alias=f"ai-platform-{args.stack}", kms_key_arn=args.logs_kms_key_arn, opts=parent.child_opts()
    )
    role = workload_role(
        f"{name}-prometheus-remote-write",
        namespace=NAMESPACE,
        service_account=PROMETHEUS_NAME,
        oidc_provider_arn=args.oidc_provider_arn,
        oidc_issuer=args.oidc_issuer,
        statements=[
            {"Sid": "RemoteWriteToItsWorkspace", "Effect": "Allow", "Action": "aps:RemoteWrite",
             "Resource": workspace.arn}
        ],
        parent=parent,
        description=f"Prometheus of {args.cluster_name}: remote write to its AMP workspace only",
    )  # fmt: skip
    # AMP's documented endpoint: https://aps-workspaces.<region>.<dns suffix>/workspaces/<id>/api/v1/remote_write
    endpoint = pulumi.Output.concat(
        f"https://aps-workspaces.{args.aws.region}.{args.aws.dns_suffix}/workspaces/", workspace.id,
        "/api/v1/remote_write",
    )  # fmt: skip
    return RemoteWrite(workspace=workspace, role=role, endpoint=endpoint)


def retention_size(storage_gib: int) -> str:
    """`RETENTION_SIZE_SHARE` of a volume in Prometheus' (base-2) units: 100 GiB -> `87040MB`."""
    return f"{math.floor(storage_gib * 1024 * RETENTION_SIZE_SHARE)}MB"


def _volume(storage_class: str, gib: int) -> dict[str, Any]:
    """A `volumeClaimTemplate` of one ReadWriteOnce gp3 volume per replica."""
    spec = {"storageClassName": storage_class, "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{gib}Gi"}}}  # fmt: skip
    return {"volumeClaimTemplate": {"spec": spec}}


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def _placement(labels: dict[str, str], replicas: int) -> dict[str, Any]:
    """On the `system` node group, tolerating its taint; spread over zones when there is more than one replica."""
    placement: dict[str, Any] = {"nodeSelector": dict(SYSTEM_NODE_SELECTOR), "tolerations": list(SYSTEM_TOLERATIONS)}
    if replicas > 1:
        placement["topologySpreadConstraints"] = zone_spread(labels)
    return placement


def prometheus_values(args: ObservabilityArgs, remote_write: RemoteWrite | None) -> dict[str, Any]:
    """The chart's `prometheus` values: replicas, retention, volume, scrape interval, external labels, selectors
    open to every namespace, resources, placement, and the AMP remote write when it is on."""
    settings = args.config.prometheus
    interval = f"{settings.scrape_interval_seconds}s"
    spec: dict[str, Any] = {
        "replicas": settings.replicas,
        "retention": f"{settings.retention_days}d",
        "retentionSize": retention_size(settings.storage_gib),
        "storageSpec": _volume(args.storage_class, settings.storage_gib),
        "scrapeInterval": interval,
        "evaluationInterval": interval,
        "externalLabels": {"cluster": args.cluster_name, "stack": args.stack},
        # Pick up the platform's PrometheusRules, ServiceMonitors and PodMonitors in any namespace, whatever labels.
        "ruleSelectorNilUsesHelmValues": False,
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "resources": _resources(settings.cpu_request, settings.memory_request, settings.memory_limit),
        **_placement({"app.kubernetes.io/name": "prometheus", "prometheus": PROMETHEUS_NAME}, settings.replicas),
    }
    service_account: dict[str, Any] = {"create": True, "name": PROMETHEUS_NAME}
    if remote_write is not None:
        # AMP deduplicates an HA pair by the `cluster` and `__replica__` external labels.
        spec["replicaExternalLabelName"] = "__replica__"
        spec["remoteWrite"] = [
            {
                "url": remote_write.endpoint,
                "sigv4": {"region": args.aws.region},
                "queueConfig": {"maxSamplesPerSend": 1000, "maxShards": 200, "capacity": 2500},
            }
        ]
        service_account["annotations"] = {"eks.amazonaws.com/role-arn": remote_write.role.arn}
    return {
        "service": {"type": "ClusterIP"},
        "serviceAccount": service_account,
        "podDisruptionBudget": pdb(settings.replicas),
        "prometheusSpec": spec,
    }


def alertmanager_values(args: ObservabilityArgs) -> dict[str, Any]:
    """The chart's `alertmanager` values: replicas, volumes, resources, placement. Its configuration (receivers,
    routes) and the receivers' Secret come from `alerting.alertmanager_values`, merged in by `chart_values`."""
    settings = args.config.alertmanager
    replicas = settings.replicas
    return {
        "service": {"type": "ClusterIP"},
        "podDisruptionBudget": pdb(settings.replicas),
        "alertmanagerSpec": {
            "replicas": settings.replicas,
            "storage": _volume(args.storage_class, settings.storage_gib),
            "resources": _resources("50m", "128Mi", "256Mi"),
            **_placement({"app.kubernetes.io/name": "alertmanager", "alertmanager": ALERTMANAGER_NAME}, replicas),
        },
    }


def grafana_values(args: ObservabilityArgs) -> dict[str, Any]:
    """The `grafana` subchart's values: replicas, the admin login from the synced Secret, dashboards from labelled
    ConfigMaps (sidecar), the Prometheus datasource, ClusterIP only."""
    replicas = args.config.grafana.replicas
    values: dict[str, Any] = {
        "replicas": replicas,
        # The Secret's keys are the chart's defaults (`admin-user`, `admin-password`), which the ExternalSecret writes.
        "admin": {"existingSecret": GRAFANA_ADMIN_SECRET},
        "sidecar": {
            "dashboards": {
                "enabled": True,
                "label": dashboards.SIDECAR_LABEL_KEY,
                "labelValue": dashboards.SIDECAR_LABEL_VALUE,
                "searchNamespace": "ALL",
            },
            "datasources": {"enabled": True, "defaultDatasourceEnabled": True, "isDefaultDatasource": True},
            "resources": _resources("50m", "64Mi", "128Mi"),
        },
        "service": {"type": "ClusterIP"},
        "testFramework": {"enabled": False},  # a Helm test hook: not something a deployment runs
        "resources": _resources("100m", "256Mi", "512Mi"),
        **_placement({"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": RELEASE}, replicas),
    }
    if replicas > 1:
        values["podDisruptionBudget"] = {"minAvailable": 1}
    return values


def chart_values(args: ObservabilityArgs, remote_write: RemoteWrite | None) -> dict[str, Any]:
    """The kube-prometheus-stack values (keys checked against the pinned chart by tests/test_chart_values.py), with
    Alertmanager's routing from the alerting module merged in."""
    system = {"nodeSelector": dict(SYSTEM_NODE_SELECTOR), "tolerations": list(SYSTEM_TOLERATIONS)}
    values = {
        "fullnameOverride": FULLNAME,
        "crds": {"enabled": True},
        "defaultRules": {
            "create": True,
            "rules": {key: False for key in UNREACHABLE_RULE_GROUPS},
            "disabled": {alert: True for alert in SUPERSEDED_DEFAULT_ALERTS},
        },
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeEtcd": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "prometheusOperator": {
            "admissionWebhooks": {"enabled": False, "patch": {"enabled": False}},
            "tls": {"enabled": False},
            "resources": _resources("100m", "128Mi", "256Mi"),
            **system,
        },
        "prometheus": prometheus_values(args, remote_write),
        "alertmanager": alertmanager_values(args),
        "grafana": grafana_values(args),
        "kubeStateMetrics": {"enabled": True},
        "kube-state-metrics": {"resources": _resources("50m", "128Mi", "256Mi"), **system},
        "nodeExporter": {"enabled": True},
        "prometheus-node-exporter": {
            "namespaceOverride": NODE_EXPORTER_NAMESPACE,
            # Every node, whatever its taints: a node without node-exporter is a node without capacity metrics.
            "tolerations": [{"operator": "Exists"}],
            "resources": _resources("50m", "64Mi", "128Mi"),
        },
    }
    return deep_merge(values, alerting.alertmanager_values(args, alerting.receivers_secret(args)))
