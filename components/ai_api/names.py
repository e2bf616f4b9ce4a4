"""Names, labels and ports that every part of ai-api agrees on (the registry, the pods, the edge, the guards)."""

from __future__ import annotations

from config import PROJECT

APP = "ai-api"
CONTAINER_PORT = 8080
SERVICE_PORT = 80
HEALTH_PATH = "/health"
# The Ingress action answering 503 in maintenance mode (`alb.ingress.kubernetes.io/actions.<name>`): the name the
# Ingress rule gives as its backend service. No Service has it; the load balancer controller reads the annotation.
MAINTENANCE_ACTION = "maintenance"
# Prometheus scrapes `/metrics` on a port of its own, which no Service the ALB routes to exposes: the public never
# reaches the metrics.
METRICS_PORT = 9090
METRICS_PATH = "/metrics"
METRICS_SERVICE = f"{APP}-metrics"
SETTINGS_CONFIG_MAP = f"{APP}-settings"
# The PostgreSQL role the pods sign in as with IAM database authentication (db/migrations/0002 creates it).
DATABASE_USER = "ai_app"
SELECTOR = {"app.kubernetes.io/name": APP}
LABELS = {**SELECTOR, "app.kubernetes.io/part-of": PROJECT, "app.kubernetes.io/managed-by": "pulumi"}
# The metrics Service's labels: what the ServiceMonitor selects (the other Services carry LABELS only).
METRICS_LABELS = {**LABELS, "app.kubernetes.io/component": "metrics"}
# The ai-api's metrics contract (README "Observability"): every series the pods serve at METRICS_PATH that the
# release analysis or the dashboards read, as Prometheus names (a histogram also serves `_bucket`, `_sum`, `_count`).
METRICS_CONTRACT: dict[str, str] = {
    "http_requests_total": "counter of requests served; labels `code` (HTTP status, e.g. 200, 503), `method`, `route`",
    "http_request_duration_seconds": "histogram of request latency in seconds; labels `method`, `route`",
    "db_client_connection_count": "gauge of the database pool's connections; label `state` (`used`, `idle`)",
    "db_client_connection_max": "gauge: the pool's maximum connections",
    "db_client_operation_duration_seconds": "histogram of database query latency in seconds",
}


def flags_path(stack: str) -> str:
    """The SSM Parameter Store path of the ai-api feature flags of a stack."""
    return f"/{PROJECT}/{stack}/{APP}/flags"
