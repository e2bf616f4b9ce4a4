"""Traces: an OpenTelemetry collector receives OTLP (gRPC 4317, HTTP 4318) from the ai-api, keeps
`traces.sampling_ratio` of the traces (`probabilistic_sampler`, by trace id, so a trace is kept or dropped whole)
and exports them to AWS X-Ray (`awsxray`).

Why the upstream `opentelemetry-collector` chart running the AWS Distro for OpenTelemetry (ADOT) collector image:
- The EKS add-on `adot` installs the OpenTelemetry Operator, whose admission webhooks need cert-manager, which the
  platform does not run; installing it (and a CRD-driven operator) for one Deployment adds two controllers to
  operate for nothing the chart does not do.
- AWS publishes no general ADOT collector chart (its aws-otel-helm-charts target Container Insights), while the
  upstream chart is the maintained one and renders a plain Deployment, Service and ConfigMap the policy pack sees.
- The ADOT image is AWS's supported distribution: it has the OTLP receiver, `probabilistic_sampler` and the
  `awsxray` exporter, and comes from public.ecr.aws (an allowed registry; the contrib image's registries are not).

The collector's configuration is the chart's `alternateConfig`, not `config`: Helm merges `config` over the chart's
default pipelines (jaeger, zipkin, prometheus receivers, a debug exporter, logs and metrics pipelines), which only a
`null` removes, and Pulumi's Python SDK drops null values before they reach Helm; `alternateConfig` replaces the
configuration whole, so what is written here is exactly what runs. The collector runs on the `system` nodes (it is
platform infrastructure), as a non-root user under Pod Security `restricted`, with an IRSA role allowed the X-Ray
write and sampling calls only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi_kubernetes as k8s

from components.addons.charts import ChartSource, controller_placement, zone_spread
from components.base import PlatformComponent
from components.identity import WorkloadRole
from components.observability.telemetry_base import (
    chart,
    irsa_role,
    namespace,
    service_account_values,
)
from config.namespaces import TRACES_NAMESPACE
from config.observability import TracesSettings
from lib.k8s import object_metadata

if TYPE_CHECKING:
    from components.observability import ObservabilityArgs

COLLECTOR_CHART = ChartSource("opentelemetry-collector", "https://open-telemetry.github.io/opentelemetry-helm-charts")
COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector"
COLLECTOR_COMMAND = "awscollector"  # the ADOT image's binary (the chart's default is the contrib image's)
COLLECTOR_NAME = "otel-collector"  # fullnameOverride: the Deployment, Service and ServiceAccount
OTLP_GRPC_PORT, OTLP_HTTP_PORT, HEALTH_PORT = 4317, 4318, 13133
# The chart's pod labels (its name and the Helm release); the PodDisruptionBudget selects on the name.
COLLECTOR_LABELS = {"app.kubernetes.io/name": "opentelemetry-collector"}
# What the chart's default ports open for receivers this collector does not run.
UNUSED_PORTS = ("jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")
# X-Ray writes (segments, the exporter's telemetry records) and sampling reads; X-Ray defines no resource type for
# any of them, so they are granted on "*" (IAM catalogue rule `iam-catalog-valid`).
XRAY_ACTIONS: tuple[str, ...] = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)


def otlp_endpoint() -> str:
    """The collector's OTLP/HTTP address in the cluster (its Service), as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it."""
    return f"http://{COLLECTOR_NAME}.{TRACES_NAMESPACE}.svc:{OTLP_HTTP_PORT}"


def xray_statements() -> list[dict[str, Any]]:
    """The collector's permissions: write traces to X-Ray and read its sampling rules, nothing else."""
    return [{"Sid": "WriteTracesToXRay", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"}]


def collector_config(region: str, sampling_ratio: float) -> dict[str, Any]:
    """The collector's whole configuration: OTLP in, memory limit, sampling at `sampling_ratio`, batches to X-Ray.

    Listeners bind the pod's IP (`MY_POD_IP`, set by the chart), never 0.0.0.0; the health check answers the
    chart's probes on 13133. The memory limiter comes first so a burst is refused before it is sampled."""
    listen = "${env:MY_POD_IP}"
    return {
        "extensions": {"health_check": {"endpoint": f"{listen}:{HEALTH_PORT}"}},
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"{listen}:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"{listen}:{OTLP_HTTP_PORT}"},
                }
            }
        },
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "probabilistic_sampler": {"sampling_percentage": round(sampling_ratio * 100, 4)},
            "batch": {},
        },
        "exporters": {"awsxray": {"region": region}},  # explicit: pods cannot reach IMDS (hop limit 1)
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "probabilistic_sampler", "batch"],
                    "exporters": ["awsxray"],
                }
            },
        },
    }


def collector_values(region: str, settings: TracesSettings, role: WorkloadRole) -> dict[str, Any]:
    """Helm values of opentelemetry-collector: a Deployment of the ADOT collector with `collector_config`, its
    Service exposing OTLP only, spread over zones on the `system` nodes, hardened for Pod Security `restricted`."""
    return {
        "mode": "deployment",
        "fullnameOverride": COLLECTOR_NAME,
        "image": {"repository": COLLECTOR_IMAGE, "tag": settings.collector_image_tag},
        "command": {"name": COLLECTOR_COMMAND},
        "replicaCount": settings.collector_replicas,
        "serviceAccount": service_account_values(COLLECTOR_NAME, role),
        "alternateConfig": collector_config(region, settings.sampling_ratio),
        "ports": {port: {"enabled": False} for port in UNUSED_PORTS},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "podSecurityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "privileged": False,
        },
        "topologySpreadConstraints": zone_spread(COLLECTOR_LABELS),
        **controller_placement(),
    }


def install(parent: PlatformComponent, name: str, args: ObservabilityArgs) -> str:
    """Declare the collector's namespace, IRSA role, chart and (with 2+ replicas) PodDisruptionBudget under
    `parent`; returns its OTLP endpoint."""
    settings = args.config.traces
    traces_namespace = namespace(parent, name, TRACES_NAMESPACE, args.kubernetes_version, "restricted")
    role = irsa_role(
        parent,
        f"{name}-otel-collector",
        args,
        namespace_name=TRACES_NAMESPACE,
        service_account=COLLECTOR_NAME,
        statements=xray_statements(),
        description=f"OpenTelemetry collector of {args.cluster_name}: export traces to X-Ray",
    )
    chart(
        parent,
        f"{name}-otel-collector",
        COLLECTOR_CHART,
        settings.collector_chart_version,
        TRACES_NAMESPACE,
        collector_values(args.aws.region, settings, role),
        depends_on=[traces_namespace, *role.ready],
    )
    if settings.collector_replicas > 1:
        # The chart's own budget can only be switched on (its minAvailable is no value of the chart's values.yaml).
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-otel-collector-pdb",
            metadata=object_metadata(COLLECTOR_NAME, TRACES_NAMESPACE, COLLECTOR_LABELS),
            spec={"minAvailable": 1, "selector": {"matchLabels": COLLECTOR_LABELS}},
            opts=parent.child_opts(depends_on=[traces_namespace, *parent.waits_for]),
        )
    return otlp_endpoint()
