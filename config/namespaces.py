"""The Kubernetes namespaces the platform itself owns: where each add-on's controller runs, where the schema
migrations run and where the observability stack runs. The components create them from these names and the config
refuses them for the workload, so the ai-api can never share (and, on deletion, take down) a namespace the platform
depends on."""

from __future__ import annotations

# Namespace of each add-on's controller, by `ai-platform:addons` key (the IRSA trust policy pins it).
ADDON_NAMESPACES: dict[str, str] = {
    "load_balancer_controller": "kube-system",
    "karpenter": "kube-system",
    "metrics_server": "kube-system",
    "vpa": "kube-system",
    "external_secrets": "external-secrets",
    "argo_rollouts": "argo-rollouts",
    "cert_manager": "cert-manager",
}
# Namespace of the database-migrations Job, its Secret and ConfigMap (components/migrations.py).
MIGRATIONS_NAMESPACE = "platform-db"
# Namespace of the metrics stack (Prometheus, Alertmanager, Grafana, the operator, kube-state-metrics): Pod Security
# `restricted`. Its own namespace for node-exporter, the one DaemonSet that needs the node's network, PID namespace
# and filesystem (Pod Security `privileged`), so nothing else of the stack runs unconfined.
MONITORING_NAMESPACE = "monitoring"
NODE_EXPORTER_NAMESPACE = "node-exporter"
# Namespaces every Kubernetes cluster has.
KUBERNETES_NAMESPACES: tuple[str, ...] = ("default", "kube-system", "kube-public", "kube-node-lease")

RESERVED_NAMESPACES: tuple[str, ...] = tuple(
    sorted(
        {
            *KUBERNETES_NAMESPACES,
            *ADDON_NAMESPACES.values(),
            MIGRATIONS_NAMESPACE,
            MONITORING_NAMESPACE,
            NODE_EXPORTER_NAMESPACE,
        }
    )
)
# Namespaces of the observability stack's log shipper (Fluent Bit: reads the nodes' /var/log through hostPath, so
# Pod Security `privileged`) and trace collector (OpenTelemetry, `restricted`); components/observability/.
LOGS_NAMESPACE = "logging"
TRACES_NAMESPACE = "opentelemetry"
RESERVED_NAMESPACES = tuple(sorted({*RESERVED_NAMESPACES, LOGS_NAMESPACE, TRACES_NAMESPACE}))
