"""The ai-api workload itself: its namespace, identity, settings, pods and Services.

The pods run as a service account bound by IRSA to a role that reads the model bucket and the stack's feature
flags (SSM) and may sign in to the database as `ai_app` (`rds-db:connect`), and nothing else; settings, the
database's address and the libpq TLS settings included, come from a ConfigMap (a change rolls the pods). No
database secret exists in the namespace: each connection authenticates with an IAM token the app signs itself.
The pods run as a Deployment (`rolling`) or an Argo Rollouts `Rollout` with its AnalysisTemplates (`blue-green`,
`canary`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.ai_api.names import (
    APP,
    CONTAINER_PORT,
    DATABASE_USER,
    LABELS,
    METRICS_LABELS,
    METRICS_PATH,
    METRICS_PORT,
    METRICS_SERVICE,
    SELECTOR,
    SERVICE_PORT,
    SETTINGS_CONFIG_MAP,
    flags_path,
)
from components.ai_api.release import (
    PROGRESS_DEADLINE_SECONDS,
    ROLLOUTS_API,
    ReleaseShape,
    analysis_template_spec,
    release_wait_annotations,
)
from components.ai_api.secrets import SECRETS_DIR
from components.base import PlatformComponent
from components.identity import WorkloadRole, workload_role
from lib.iam import decrypt_through_service
from lib.k8s import object_metadata, pod_security_labels

if TYPE_CHECKING:
    from components.ai_api import AiApiArgs


def database_user_arn(args: AiApiArgs) -> pulumi.Output[str]:
    """`arn:<partition>:rds-db:<region>:<account>:dbuser:<cluster resource id>/ai_app`: signing in as `ai_app` to
    this cluster only (IAM database authentication; the master user and other clusters stay out of reach)."""
    return pulumi.Output.concat(
        args.aws.arn("rds-db", "dbuser:"), args.database_cluster_resource_id, f"/{DATABASE_USER}"
    )


def workload_statements(args: AiApiArgs) -> list[dict[str, Any]]:
    """The workload role's permissions: read the model bucket (and decrypt it through S3) and the feature flags,
    and sign in to the database as `ai_app`."""
    path = flags_path(args.stack)
    return [
        {"Sid": "ListModelBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": args.model_bucket_arn},
        {
            "Sid": "ReadModels",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": pulumi.Output.concat(args.model_bucket_arn, "/*"),
        },
        decrypt_through_service(args.aws, "s3", args.storage_kms_key_arn, sid="DecryptModelsThroughS3"),
        {
            "Sid": "ReadFeatureFlags",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
            "Resource": [args.aws.arn("ssm", f"parameter{path}"), args.aws.arn("ssm", f"parameter{path}/*")],
        },
        {
            "Sid": "ConnectToDatabaseAsAppRole",
            "Effect": "Allow",
            "Action": "rds-db:connect",
            "Resource": database_user_arn(args),
        },
    ]


def database_settings(args: AiApiArgs) -> dict[str, pulumi.Input[str]]:
    """Where and how the pods connect, as libpq's own environment variables (libpq-based drivers read them as
    they are): the writer endpoint, port, database, the `ai_app` role, and TLS (`PGSSLMODE`, with the RDS CA
    bundle of the image as `PGSSLROOTCERT` unless the mode is `require`, which verifies nothing). None is secret:
    the password of each connection is an IAM token the app signs with its IRSA credentials (region `AWS_REGION`).
    """
    config = args.config
    settings: dict[str, pulumi.Input[str]] = {
        "PGHOST": args.database_endpoint,
        "PGPORT": pulumi.Output.from_input(args.database_port).apply(str),
        "PGDATABASE": args.database_name,
        "PGUSER": DATABASE_USER,
        "PGSSLMODE": config.database_sslmode,
        "PGAPPNAME": APP,  # names the pods' sessions in pg_stat_activity and the connection log
    }
    if config.database_sslmode != "require":
        # Given a root certificate libpq verifies the chain even in `require` mode: set it for the verifying modes.
        settings["PGSSLROOTCERT"] = config.database_ca_bundle_path
    return settings


def trace_settings(otlp_endpoint: str | None) -> dict[str, str]:
    """Where the app's OpenTelemetry SDK sends its traces, as the SDK's own environment variables: the collector's
    OTLP/HTTP endpoint (the SDK appends `/v1/traces`), that protocol, and the service name X-Ray shows. Sampling is
    the collector's (`observability.traces.sampling_ratio`): the app sends every span. None: no collector, no
    variable."""
    if otlp_endpoint is None:
        return {}
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": APP,
    }


def feature_flags(owner: PlatformComponent, name: str, args: AiApiArgs) -> dict[str, aws.ssm.Parameter]:
    """Declare one SSM parameter per feature flag (`<name>-flag-<flag>`) under the stack's flags path."""
    return {
        flag: aws.ssm.Parameter(
            f"{name}-flag-{flag}",
            name=f"{flags_path(args.stack)}/{flag}",
            type="String",
            tier="Standard",
            insecure_value=value,  # a flag is not a secret: plain in state and diffs, so changes are reviewable
            description=f"ai-api feature flag {flag}",
            opts=owner.child_opts(),
        )
        for flag, value in sorted(args.config.feature_flag_values.items())
    }


def namespace(name: str, args: AiApiArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    """Declare the namespace (`<name>-namespace`): Pod Security `restricted`, ALB pod readiness gates injected."""
    return k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata={
            "name": args.config.namespace,
            "labels": {
                **LABELS,
                **pod_security_labels(args.kubernetes_version),
                # Pods only count as ready once the ALB target is healthy: a rollout never outruns the ALB.
                "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
            },
        },
        opts=opts,
    )


def identity(owner: PlatformComponent, name: str, args: AiApiArgs, opts: pulumi.ResourceOptions) -> WorkloadRole:
    """Declare the workload role (`<name>-workload-role`) and the `ai-api` ServiceAccount bound to it by IRSA."""
    role = workload_role(
        f"{name}-workload",
        namespace=args.config.namespace,
        service_account=APP,
        oidc_provider_arn=args.oidc_provider_arn,
        oidc_issuer=args.oidc_issuer,
        statements=workload_statements(args),
        parent=owner,
        description=f"ai-api ({args.stack}): read the model bucket and the feature flags",
    )
    k8s.core.v1.ServiceAccount(
        f"{name}-service-account",
        metadata=object_metadata(
            APP,
            args.config.namespace,
            LABELS,
            annotations={"eks.amazonaws.com/role-arn": role.arn, "eks.amazonaws.com/sts-regional-endpoints": "true"},
        ),
        automount_service_account_token=False,
        opts=opts,
    )
    return role


def settings(name: str, args: AiApiArgs, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """Declare the settings ConfigMap (`<name>-settings`); returns the hash of its data for the pod template.

    It holds the configured `settings`, the port, region, model bucket, flags path, the database connection
    settings (`database_settings`) and the trace exporter's (`trace_settings`), the platform's keys winning over
    configured ones of the same name. Pods roll
    when the settings change (the hash is a pod annotation), so a settings change is released like a new image.
    """
    data: dict[str, pulumi.Input[str]] = {
        **args.config.settings,
        "PORT": str(CONTAINER_PORT),
        "AWS_REGION": args.aws.region,
        "MODEL_BUCKET": args.model_bucket_name,
        "FEATURE_FLAGS_SSM_PATH": flags_path(args.stack),
        **database_settings(args),
        **trace_settings(args.otlp_endpoint),
        # Where the application secrets' files are (`secrets`): read a key when it is used, it may rotate.
        **({"SECRETS_DIR": SECRETS_DIR} if args.config.secrets else {}),
    }
    k8s.core.v1.ConfigMap(
        f"{name}-settings",
        metadata=object_metadata(SETTINGS_CONFIG_MAP, args.config.namespace, LABELS),
        data=data,
        opts=opts,
    )
    return pulumi.Output.from_input(data).apply(
        lambda values: hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
    )


def pods(
    name: str,
    args: AiApiArgs,
    shape: ReleaseShape,
    template: dict[str, Any],
    *,
    opts: pulumi.ResourceOptions,
    in_namespace: pulumi.ResourceOptions,
) -> tuple[pulumi.CustomResource, list[k8s.apiextensions.CustomResource]]:
    """Declare the Deployment (`<name>-deployment`) or the Rollout (`<name>-rollout`) and its AnalysisTemplates.

    `opts` is what the workload waits for (the namespace, its Secret); the AnalysisTemplates take `in_namespace`
    and the Rollout waits for them too. The HPA owns the replica count once running: a deployment never resets
    it. Returns the workload and the AnalysisTemplates (none for a Deployment).
    """
    config = args.config
    prometheus_address = args.prometheus_address or ""  # only `rolling` (no analysis) runs without one
    workload_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["spec.replicas"]))
    metadata = object_metadata(APP, config.namespace, LABELS)
    spec = {
        "replicas": config.replicas,
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": PROGRESS_DEADLINE_SECONDS,
        "selector": {"matchLabels": SELECTOR},
        "template": template,
    }
    if shape.rollout_strategy is None:
        rolling_update = {"maxSurge": config.rolling.max_surge, "maxUnavailable": config.rolling.max_unavailable}
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata,
            spec={**spec, "strategy": {"type": "RollingUpdate", "rollingUpdate": rolling_update}},
            opts=workload_opts,
        )
        return deployment, []
    analysis_templates = [
        k8s.apiextensions.CustomResource(
            f"{name}-analysis-{template_name.removeprefix(APP + '-')}",
            api_version=ROLLOUTS_API,
            kind="AnalysisTemplate",
            metadata=object_metadata(template_name, config.namespace, LABELS),
            spec=analysis_template_spec(config, config.namespace, count, prometheus_address),
            opts=in_namespace,
        )
        for template_name, count in shape.analysis_templates.items()
    ]
    rollout = k8s.apiextensions.CustomResource(
        f"{name}-rollout",
        api_version=ROLLOUTS_API,
        kind="Rollout",
        metadata={**metadata, "annotations": release_wait_annotations(config)},
        spec={**spec, "progressDeadlineAbort": True, "strategy": shape.rollout_strategy},
        opts=pulumi.ResourceOptions.merge(workload_opts, pulumi.ResourceOptions(depends_on=analysis_templates)),
    )
    return rollout, analysis_templates


def services(name: str, namespace_name: str, roles: Mapping[str, str], opts: pulumi.ResourceOptions) -> None:
    """Declare one ClusterIP Service per role -> Service name (`<name>-service-<role>`), each selecting all pods.

    Argo Rollouts narrows stable/canary/active/preview to one revision with its hash label.
    """
    for role, service_name in roles.items():
        k8s.core.v1.Service(
            f"{name}-service-{role}",
            metadata=object_metadata(service_name, namespace_name, LABELS),
            spec={
                "type": "ClusterIP",
                "selector": SELECTOR,
                "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=opts,
        )


def metrics_service(name: str, namespace_name: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Service:
    """Declare the ClusterIP Service `ai-api-metrics` (`<name>-service-metrics`): the metrics port of every pod.

    Argo Rollouts never narrows it to one revision (it is none of the strategy's Services), so Prometheus scrapes
    the stable, canary, active and preview pods alike, and the analysis can compare them.
    """
    return k8s.core.v1.Service(
        f"{name}-service-metrics",
        metadata=object_metadata(METRICS_SERVICE, namespace_name, METRICS_LABELS),
        spec={
            "type": "ClusterIP",
            "selector": SELECTOR,
            "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}],
        },
        opts=opts,
    )


def service_monitor_spec(namespace_name: str) -> dict[str, Any]:
    """Scrape `/metrics` on the metrics Service's endpoints; copy the revision's hash label onto every series
    (`rollouts_pod_template_hash`: what the release analysis selects a revision by)."""
    return {
        "selector": {"matchLabels": METRICS_LABELS},
        "namespaceSelector": {"matchNames": [namespace_name]},
        "endpoints": [{"port": "metrics", "path": METRICS_PATH, "scheme": "http"}],
        "podTargetLabels": ["rollouts-pod-template-hash"],
    }


def service_monitor(name: str, namespace_name: str, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """Declare the ServiceMonitor `ai-api` (`<name>-service-monitor`); `opts` waits for the monitoring CRDs."""
    return k8s.apiextensions.CustomResource(
        f"{name}-service-monitor",
        api_version="monitoring.coreos.com/v1",
        kind="ServiceMonitor",
        metadata=object_metadata(APP, namespace_name, LABELS),
        spec=service_monitor_spec(namespace_name),
        opts=opts,
    )
