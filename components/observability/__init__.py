"""Observability: what watches the platform and who hears about it.

In the cluster (component `Observability`, built before the workload): the kube-prometheus-stack (Prometheus
Operator, Prometheus, Alertmanager, Grafana, kube-state-metrics, node-exporter) on the `system` node group, the
alert rules as `PrometheusRule` objects, Alertmanager's routing with its receivers' secrets from Secrets Manager,
Grafana dashboards from the repository, Fluent Bit shipping container logs to CloudWatch Logs, and an
OpenTelemetry collector exporting traces to AWS X-Ray. In AWS (component `Alarms`, built after the resources it
watches): an SNS topic per severity and the CloudWatch alarms and dashboard for what Prometheus cannot see.

Modules: `metrics` (the chart, Grafana, Amazon Managed Prometheus), `alerting` (rules and routing), `telemetry`
(logs and traces), `alarms` (the `Alarms` component).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.base import PlatformComponent
from components.observability import alerting, metrics, telemetry
from config.api import ApiConfig
from config.observability import ObservabilityConfig
from lib.aws import AwsContext


@dataclass(frozen=True)
class ObservabilityArgs:
    """Inputs of `Observability`.

    config: the `ai-platform:observability` section.
    stack / cluster_name: names for log groups, metrics labels and the Grafana/Prometheus external labels.
    kubernetes_version: pins the monitoring namespace's Pod Security Admission version.
    oidc_provider_arn / oidc_issuer: the cluster's IRSA identity provider (Fluent Bit, the collector, remote write).
    logs_kms_key_arn: the platform's logs key (container log groups).
    secrets_path_prefix: the Secrets Manager prefix external-secrets may read (`ai-platform/<stack>/`): the alert
        receivers' secrets live under `<prefix>observability/`.
    cluster_secret_store_name: the ClusterSecretStore reading that prefix.
    storage_class: the cluster's default StorageClass (encrypted gp3) for Prometheus and Alertmanager volumes.
    aws: account, partition and region.
    secrets_ready: the external-secrets add-on (ExternalSecret CRD, controller); receivers' secrets wait for it.
    api: the ai-api's section when the stack runs it: its namespace and metric names feed the SLO alert rules.
    """

    config: ObservabilityConfig
    stack: str
    cluster_name: str
    kubernetes_version: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    secrets_path_prefix: str
    cluster_secret_store_name: str | None
    storage_class: str
    aws: AwsContext
    secrets_ready: Sequence[pulumi.Resource] = ()
    api: ApiConfig | None = None


class Observability(PlatformComponent):
    """The in-cluster observability stack of one stack (see the module docstring)."""

    area = "observability"

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        stack = metrics.install(self, name, args)
        alerting.install(self, name, args, stack)
        telemetry_out = telemetry.install(self, name, args)

        self.namespace = stack.namespace
        self.prometheus_address = stack.prometheus_address
        self.alertmanager_address = stack.alertmanager_address
        # Where the workload sends its traces (OTLP/HTTP): the collector's Service.
        self.otlp_endpoint: str = telemetry_out.otlp_endpoint
        # What a ServiceMonitor or PrometheusRule elsewhere waits for: the chart installing their CRDs.
        self.monitoring_ready: tuple[pulumi.Resource, ...] = stack.crds_ready
        self.register_outputs(
            {
                "namespace": self.namespace,
                "prometheus_address": self.prometheus_address,
                "alertmanager_address": self.alertmanager_address,
                "otlp_endpoint": self.otlp_endpoint,
                "monitoring_ready": [r.urn for r in self.monitoring_ready],
            }
        )
