"""The ai-api workload itself: its namespace, identity, settings, database secret, pods and Services.

The pods run as a service account bound by IRSA to a role that reads the model bucket and the stack's feature
flags (SSM) and nothing else; settings come from a ConfigMap (a change rolls the pods); `DATABASE_URL` is templated
by external-secrets from the RDS-managed master secret. The pods run as a Deployment (`rolling`) or an Argo
Rollouts `Rollout` with its AnalysisTemplates (`blue-green`, `canary`).
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
    DATABASE_SECRET,
    DATABASE_URL_KEY,
    LABELS,
    SECRETS_READER,
    SELECTOR,
    SERVICE_PORT,
    SETTINGS_CONFIG_MAP,
    flags_path,
)
from components.ai_api.release import ROLLOUTS_API, ReleaseShape, analysis_template_spec
from components.base import PlatformComponent
from components.identity import workload_role
from components.secret_access import database_credentials_secret, single_secret_store
from lib.iam import decrypt_through_service
from lib.k8s import object_metadata, pod_security_labels

if TYPE_CHECKING:
    from components.ai_api import AiApiArgs


def workload_statements(args: AiApiArgs) -> list[dict[str, Any]]:
    """The workload role's permissions: read the model bucket (and decrypt it through S3) and the feature flags."""
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
    ]


def database_url_template(args: AiApiArgs) -> pulumi.Output[str]:
    """The external-secrets template of DATABASE_URL: credentials from the secret, TLS required by `sslmode`."""
    config = args.config
    query = f"sslmode={config.database_sslmode}"
    if config.database_sslmode != "require":
        query += f"&sslrootcert={config.database_ca_bundle_path}"
    return pulumi.Output.format(
        "postgresql://{{{{ .username | urlquery }}}}:{{{{ .password | urlquery }}}}@{0}:{1}/{2}?{3}",
        args.database_endpoint,
        args.database_port,
        args.database_name,
        query,
    )


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


def identity(owner: PlatformComponent, name: str, args: AiApiArgs, opts: pulumi.ResourceOptions) -> aws.iam.Role:
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

    Pods roll when the settings change (the hash is a pod annotation), so a settings change is released like a
    new image.
    """
    data: dict[str, pulumi.Input[str]] = {
        **args.config.settings,
        "PORT": str(CONTAINER_PORT),
        "AWS_REGION": args.aws.region,
        "MODEL_BUCKET": args.model_bucket_name,
        "FEATURE_FLAGS_SSM_PATH": flags_path(args.stack),
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


def database_secret(
    owner: PlatformComponent, name: str, args: AiApiArgs, opts: pulumi.ResourceOptions
) -> tuple[aws.iam.Role, k8s.apiextensions.CustomResource]:
    """Declare the Secret `ai-api-database` (key `DATABASE_URL`), synced by external-secrets from the RDS secret.

    RDS names its secret itself (`rds!cluster-...`), outside the stack's secrets prefix that the shared
    ClusterSecretStore may read; a SecretStore of this namespace, with a role that can read exactly this one
    secret, keeps that grant as narrow as it can be. Returns that role and the ExternalSecret (created once the
    Secret exists: the pods reference it and wait for it).
    """
    role, store = single_secret_store(
        name,
        namespace=args.config.namespace,
        store_name=SECRETS_READER,
        secret_arn=args.database_secret_arn,
        kms_key_arn=args.database_kms_key_arn,
        oidc_provider_arn=args.oidc_provider_arn,
        oidc_issuer=args.oidc_issuer,
        aws_ctx=args.aws,
        labels=LABELS,
        parent=owner,
        opts=opts,
        description=f"external-secrets for ai-api ({args.stack}): read the database secret",
    )
    external_secret = database_credentials_secret(
        f"{name}-database-secret",
        secret_name=DATABASE_SECRET,
        namespace=args.config.namespace,
        store=store,
        store_name=SECRETS_READER,
        secret_arn=args.database_secret_arn,
        labels=LABELS,
        refresh_interval=args.config.secret_refresh_interval,
        deletion_policy="Retain",
        template_data={DATABASE_URL_KEY: database_url_template(args)},
        opts=opts,
    )
    return role, external_secret


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
    workload_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["spec.replicas"]))
    metadata = object_metadata(APP, config.namespace, LABELS)
    spec = {
        "replicas": config.replicas,
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
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
            spec=analysis_template_spec(config, config.namespace, count),
            opts=in_namespace,
        )
        for template_name, count in shape.analysis_templates.items()
    ]
    rollout = k8s.apiextensions.CustomResource(
        f"{name}-rollout",
        api_version=ROLLOUTS_API,
        kind="Rollout",
        metadata=metadata,
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
