"""AiApi: the workload the platform exists for, from its image repository to the internet-facing load balancer.

In its own namespace (Pod Security Admission `restricted`): a service account bound by IRSA to a role that can read
the model bucket and the stack's feature flags (SSM) and nothing else; settings in a ConfigMap; `DATABASE_URL`
templated by external-secrets from the RDS-managed master secret (TLS required) and read with `secretKeyRef`; the
pods (restricted security context, probes, spread over zones and nodes, graceful termination) run as a Deployment
(`rolling`) or an Argo Rollouts `Rollout` (`blue-green`, `canary` with ALB traffic splitting and Prometheus
analysis). In front: Services, an ALB Ingress (HTTPS only, modern TLS, access logs, WAF), and around them an HPA, a
PodDisruptionBudget and default-deny NetworkPolicies. AWS side: the ECR repository (immutable tags, scan on push,
KMS) and the WAF web ACL (AWS managed rules, rate limit, blocklist IP set, logging).

Switching the release strategy is a config change (`ai-platform:api.strategy`); how to drive a release is in the
README's "Releasing ai-api".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.identity import workload_role
from components.secret_access import single_secret_store
from config import PROJECT, ApiConfig
from lib.aws import AwsContext
from lib.iam import decrypt_through_service
from lib.k8s import WAIT_FOR_READY, pod_security_labels

APP = "ai-api"
CONTAINER_PORT = 8080
SERVICE_PORT = 80
HEALTH_PATH = "/health"
DATABASE_SECRET = f"{APP}-database"
# The service account external-secrets acts as (its own IRSA role) to read the database secret for this namespace.
SECRETS_READER = f"{APP}-secrets"
DATABASE_URL_KEY = "DATABASE_URL"
SELECTOR = {"app.kubernetes.io/name": APP}
LABELS = {**SELECTOR, "app.kubernetes.io/part-of": PROJECT, "app.kubernetes.io/managed-by": "pulumi"}
ROLLOUTS_API = "argoproj.io/v1alpha1"
# The label each controller puts on a revision's pods: topology spread is computed per revision with it, so a
# new version is spread over zones on its own instead of piling up where the old one left room.
REVISION_LABEL = {
    "rolling": "pod-template-hash",
    "blue-green": "rollouts-pod-template-hash",
    "canary": "rollouts-pod-template-hash",
}
# The ALB's target-group deregistration delay: in-flight requests finish before a target is dropped.
DEREGISTRATION_DELAY_SECONDS = 30
# AWS managed rule groups on the web ACL, in evaluation order after the blocklist (priority 0) and the rate limit.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)


@dataclass(frozen=True)
class AiApiArgs:
    """Inputs of `AiApi`.

    config: the `ai-platform:api` section.
    stack: the stack name (SSM path `/ai-platform/<stack>/ai-api/flags`, ECR repository `ai-platform/<stack>/ai-api`).
    aws: account/partition/region, for ARNs in the workload role's policy.
    kubernetes_version: the cluster's version ("1.34"): pins the Pod Security Admission policy version.
    oidc_provider_arn, oidc_issuer: the cluster's IRSA identity provider (trust of the workload role).
    model_bucket_name, model_bucket_arn: the bucket of model artifacts the workload reads.
    storage_kms_key_arn: the key of the model bucket (decrypt via S3 only) and of the ECR repository.
    logs_kms_key_arn: the key of the WAF log group.
    logs_bucket_name, access_log_prefix: where the ALB writes access logs (the logs bucket, prefix `alb`).
    database_secret_arn: the RDS-managed master-user secret (JSON `username`, `password`).
    database_kms_key_arn: the key that encrypts that secret (decrypted through Secrets Manager only).
    database_endpoint, database_port, database_name: where DATABASE_URL points.
    load_balancer_cidrs: the public subnets' CIDRs (the ALB's addresses: network policy ingress).
    database_cidrs: the database subnets' CIDRs (network policy egress to PostgreSQL).
    argo_rollouts_enabled: whether the Rollout CRDs exist (blue-green and canary need them).
    alb_tags: tags the load balancer controller puts on the ALB and its target groups (default none).
    depends_on: resources the Kubernetes objects wait for (add-on controllers and their CRDs; default none).
    """

    config: ApiConfig
    stack: str
    aws: AwsContext
    kubernetes_version: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    model_bucket_name: pulumi.Input[str]
    model_bucket_arn: pulumi.Input[str]
    storage_kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    logs_bucket_name: pulumi.Input[str]
    access_log_prefix: str
    database_secret_arn: pulumi.Input[str]
    database_kms_key_arn: pulumi.Input[str]
    database_endpoint: pulumi.Input[str]
    database_port: pulumi.Input[int]
    database_name: pulumi.Input[str]
    load_balancer_cidrs: Sequence[pulumi.Input[str]]
    database_cidrs: Sequence[pulumi.Input[str]]
    argo_rollouts_enabled: bool
    alb_tags: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()


def flags_path(stack: str) -> str:
    """The SSM Parameter Store path of the ai-api feature flags of a stack."""
    return f"/{PROJECT}/{stack}/{APP}/flags"


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


def image_reference(repository_url: pulumi.Input[str], config: ApiConfig) -> pulumi.Output[str]:
    """`<repository>:<tag>@<digest>`, `<repository>@<digest>` or `<repository>:<tag>`: the digest pins when given."""
    tag, digest = config.image.tag, config.image.digest
    suffix = (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    return pulumi.Output.concat(repository_url, suffix)


def _probe(initial_delay: int, period: int, failure_threshold: int = 3) -> dict[str, Any]:
    return {
        "httpGet": {"path": HEALTH_PATH, "port": "http", "scheme": "HTTP"},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failure_threshold,
        "successThreshold": 1,
    }


def pod_template(
    config: ApiConfig, image: pulumi.Input[str], config_map_name: str, config_hash: pulumi.Input[str]
) -> dict[str, Any]:
    """The pod template shared by the Deployment and the Rollout."""
    uid = config.run_as_user
    resources = config.resources
    revision_label = REVISION_LABEL[config.strategy]
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": SELECTOR},
            "matchLabelKeys": [revision_label],
        }
        for key, when in (
            ("topology.kubernetes.io/zone", config.zone_spread),
            ("kubernetes.io/hostname", "ScheduleAnyway"),
        )
    ]
    container = {
        "name": APP,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": config_map_name}}],
        "env": [
            {
                "name": DATABASE_URL_KEY,
                "valueFrom": {"secretKeyRef": {"name": DATABASE_SECRET, "key": DATABASE_URL_KEY, "optional": False}},
            }
        ],
        "resources": {
            "requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
            "limits": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
        },
        # Up to 5 minutes to start (model loading) before liveness may restart the container.
        "startupProbe": _probe(initial_delay=10, period=10, failure_threshold=30),
        "readinessProbe": _probe(initial_delay=30, period=10),
        "livenessProbe": _probe(initial_delay=60, period=30),
        # The ALB keeps routing for a few seconds after the pod starts terminating: keep serving meanwhile.
        "lifecycle": {"preStop": {"sleep": {"seconds": config.pre_stop_sleep_seconds}}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - an emptyDir, not the host's /tmp
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    return {
        "metadata": {"labels": LABELS, "annotations": {"ai-platform/config-hash": config_hash}},
        "spec": {
            "serviceAccountName": APP,
            # IRSA's web-identity token is projected by the EKS pod identity webhook; the API token is not needed.
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": config.termination_grace_period_seconds,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": uid,
                "runAsGroup": uid,
                "fsGroup": uid,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "topologySpreadConstraints": spread,
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
        },
    }


def canary_steps(config: ApiConfig) -> list[dict[str, Any]]:
    """5% -> 25% -> 50% with a timed pause after each (analysis runs throughout), then 100%."""
    steps: list[dict[str, Any]] = []
    for weight, minutes in zip((5, 25, 50), config.canary.pause_minutes, strict=True):
        steps += [{"setWeight": weight}, {"pause": {"duration": f"{minutes}m"}}]
    return [*steps, {"setWeight": 100}]


def analysis_template_spec(config: ApiConfig, namespace: str, count: int | None) -> dict[str, Any]:
    """Success rate and p99 latency of one revision's pods (by `rollouts-pod-template-hash`), from Prometheus.

    With `count` the analysis ends after that many measurements (blue-green pre-promotion); without, it runs until
    the rollout completes (canary background analysis). A revision that served no request yet has no evidence
    against it: an empty or NaN result passes, so a quiet 5% step does not abort a good release.
    """
    analysis = config.analysis
    selector = f'namespace="{namespace}",rollouts_pod_template_hash="{{{{args.revision-hash}}}}"'
    window = f"{max(2 * analysis.interval_seconds, 60)}s"
    requests = f"{analysis.request_metric}{{{selector}}}"
    success_query = (
        f'sum(rate({analysis.request_metric}{{{selector},code!~"5.."}}[{window}])) / sum(rate({requests}[{window}]))'
    )
    latency_query = (
        f"histogram_quantile(0.99, sum by (le) (rate({analysis.latency_metric}_bucket{{{selector}}}[{window}])))"
    )

    def metric(name: str, query: str, condition: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name,
            "interval": f"{analysis.interval_seconds}s",
            "failureLimit": analysis.failure_limit,
            "successCondition": f"len(result) == 0 || isNaN(result[0]) || {condition}",
            "provider": {"prometheus": {"address": config.prometheus_address, "query": query, "timeout": 30}},
        }
        if count is not None:
            body["count"] = count
        return body

    return {
        "args": [{"name": "revision-hash"}],
        "metrics": [
            metric("success-rate", success_query, f"result[0] >= {analysis.success_rate_min}"),
            metric("latency-p99", latency_query, f"result[0] <= {analysis.p99_latency_max_seconds}"),
        ],
    }


def ingress_annotations(
    args: AiApiArgs, web_acl_arn: pulumi.Input[str], load_balancer_attributes: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """The AWS Load Balancer Controller's settings for the ai-api ALB."""
    config = args.config
    annotations: dict[str, pulumi.Input[str]] = {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/ip-address-type": "ipv4",
        "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
        "alb.ingress.kubernetes.io/ssl-redirect": "443",
        "alb.ingress.kubernetes.io/certificate-arn": config.certificate_arn,
        "alb.ingress.kubernetes.io/ssl-policy": config.ssl_policy,
        "alb.ingress.kubernetes.io/backend-protocol": "HTTP",
        "alb.ingress.kubernetes.io/healthcheck-protocol": "HTTP",
        "alb.ingress.kubernetes.io/healthcheck-port": "traffic-port",
        "alb.ingress.kubernetes.io/healthcheck-path": HEALTH_PATH,
        "alb.ingress.kubernetes.io/healthcheck-interval-seconds": "10",
        "alb.ingress.kubernetes.io/healthcheck-timeout-seconds": "5",
        "alb.ingress.kubernetes.io/healthy-threshold-count": "2",
        "alb.ingress.kubernetes.io/unhealthy-threshold-count": "2",
        "alb.ingress.kubernetes.io/success-codes": "200",
        "alb.ingress.kubernetes.io/wafv2-acl-arn": web_acl_arn,
        "alb.ingress.kubernetes.io/load-balancer-attributes": load_balancer_attributes,
        "alb.ingress.kubernetes.io/target-group-attributes": (
            f"deregistration_delay.timeout_seconds={DEREGISTRATION_DELAY_SECONDS}"
        ),
    }
    if args.alb_tags:
        annotations["alb.ingress.kubernetes.io/tags"] = ",".join(f"{k}={v}" for k, v in sorted(args.alb_tags.items()))
    return annotations


class AiApi(PlatformComponent):
    """The ai-api workload: Kubernetes objects, its ECR repository, WAF web ACL, IRSA role and feature flags."""

    area = "ai-api"

    def __init__(self, name: str, args: AiApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config = args.config
        if config.strategy != "rolling" and not args.argo_rollouts_enabled:
            raise ValueError(f"strategy {config.strategy!r} needs Argo Rollouts; enable addons.argo_rollouts")
        namespace = config.namespace
        k8s_opts = self.child_opts(depends_on=list(args.depends_on))

        # --- AWS: image repository, WAF, feature flags, workload role ------------------------------------------
        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            name=f"{PROJECT}/{args.stack}/{APP}",
            image_tag_mutability="IMMUTABLE_WITH_EXCLUSION" if config.ecr.mutable_tag_filters else "IMMUTABLE",
            image_tag_mutability_exclusion_filters=[
                {"filter": pattern, "filter_type": "WILDCARD"} for pattern in config.ecr.mutable_tag_filters
            ]
            or None,
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.storage_kms_key_arn}],
            force_delete=False,
            opts=self.child_opts(protect=config.ecr.protect),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-repository-lifecycle",
            repository=self.repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"expire untagged images after {config.ecr.untagged_expire_days} days",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": config.ecr.untagged_expire_days,
                            },
                            "action": {"type": "expire"},
                        },
                        {
                            "rulePriority": 2,
                            "description": f"keep the last {config.ecr.keep_last_images} images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": config.ecr.keep_last_images,
                            },
                            "action": {"type": "expire"},
                        },
                    ]
                }
            ),
            opts=self.child_opts(),
        )

        self.blocklist = aws.wafv2.IpSet(
            f"{name}-blocklist",
            name=f"{PROJECT}-{args.stack}-{APP}-blocklist",
            description="Addresses blocked at the ai-api ALB (maintained by the security automation)",
            scope="REGIONAL",
            ip_address_version="IPV4",
            addresses=[],
            # The security automation owns the list: a deployment must not undo its blocks.
            opts=self.child_opts(ignore_changes=["addresses"]),
        )
        self.web_acl = aws.wafv2.WebAcl(
            f"{name}-waf",
            name=f"{PROJECT}-{args.stack}-{APP}",
            description=f"ai-api ALB ({args.stack}): blocklist, rate limit, AWS managed rules",
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=self._waf_rules(name, config),
            visibility_config=_visibility(f"{PROJECT}-{args.stack}-{APP}"),
            opts=self.child_opts(),
        )
        waf_log_group = aws.cloudwatch.LogGroup(
            f"{name}-waf-logs",
            name=f"aws-waf-logs-{PROJECT}-{args.stack}-{APP}",  # WAF only logs to groups named aws-waf-logs-*
            retention_in_days=config.waf.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            opts=self.child_opts(),
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[waf_log_group.arn],
            # Credentials never reach the logs.
            redacted_fields=[{"single_header": {"name": "authorization"}}, {"single_header": {"name": "cookie"}}],
            opts=self.child_opts(),
        )

        self.feature_flags: dict[str, aws.ssm.Parameter] = {
            flag: aws.ssm.Parameter(
                f"{name}-flag-{flag}",
                name=f"{flags_path(args.stack)}/{flag}",
                type="String",
                tier="Standard",
                insecure_value=value,  # a flag is not a secret: plain in state and diffs, so changes are reviewable
                description=f"ai-api feature flag {flag}",
                opts=self.child_opts(),
            )
            for flag, value in sorted(config.feature_flag_values.items())
        }
        self.role = workload_role(
            f"{name}-workload",
            namespace=namespace,
            service_account=APP,
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_issuer=args.oidc_issuer,
            statements=workload_statements(args),
            parent=self,
            description=f"ai-api ({args.stack}): read the model bucket and the feature flags",
        )

        # --- Kubernetes: namespace, identity, configuration -----------------------------------------------------
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": namespace,
                "labels": {
                    **LABELS,
                    **pod_security_labels(args.kubernetes_version),
                    # Pods only count as ready once the ALB target is healthy: a rollout never outruns the ALB.
                    "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
                },
            },
            opts=k8s_opts,
        )
        in_namespace = self.child_opts(depends_on=[*args.depends_on, self.namespace])

        def metadata(object_name: str, **extra: Any) -> dict[str, Any]:
            return {"name": object_name, "namespace": namespace, "labels": LABELS, **extra}

        k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=metadata(
                APP,
                annotations={
                    "eks.amazonaws.com/role-arn": self.role.arn,
                    "eks.amazonaws.com/sts-regional-endpoints": "true",
                },
            ),
            automount_service_account_token=False,
            opts=in_namespace,
        )

        settings: dict[str, pulumi.Input[str]] = {
            **config.settings,
            "PORT": str(CONTAINER_PORT),
            "AWS_REGION": args.aws.region,
            "MODEL_BUCKET": args.model_bucket_name,
            "FEATURE_FLAGS_SSM_PATH": flags_path(args.stack),
        }
        config_map_name = f"{APP}-settings"
        k8s.core.v1.ConfigMap(f"{name}-settings", metadata=metadata(config_map_name), data=settings, opts=in_namespace)
        # Pods roll when the settings change, so a settings change is released like a new image.
        config_hash = pulumi.Output.from_input(settings).apply(
            lambda data: hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
        )

        # DATABASE_URL: the RDS-managed secret is named by RDS (`rds!cluster-...`), outside the stack's secrets prefix
        # that the shared ClusterSecretStore may read; a SecretStore of this namespace, with a role that can read
        # exactly this one secret, keeps that grant as narrow as it can be.
        self.secrets_role, secret_store = single_secret_store(
            name,
            namespace=namespace,
            store_name=SECRETS_READER,
            secret_arn=args.database_secret_arn,
            kms_key_arn=args.database_kms_key_arn,
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_issuer=args.oidc_issuer,
            aws_ctx=args.aws,
            labels=LABELS,
            parent=self,
            opts=in_namespace,
            description=f"external-secrets for ai-api ({args.stack}): read the database secret",
        )
        # Counts as created once the Secret exists: the pods below reference it and wait for it.
        database_secret = k8s.apiextensions.CustomResource(
            f"{name}-database-secret",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata=metadata(DATABASE_SECRET, annotations=dict(WAIT_FOR_READY)),
            spec={
                "refreshInterval": config.secret_refresh_interval,
                "secretStoreRef": {"kind": "SecretStore", "name": SECRETS_READER},
                "target": {
                    "name": DATABASE_SECRET,
                    "creationPolicy": "Owner",
                    "deletionPolicy": "Retain",
                    "template": {
                        "engineVersion": "v2",
                        "type": "Opaque",
                        "metadata": {"labels": LABELS},
                        "data": {DATABASE_URL_KEY: database_url_template(args)},
                    },
                },
                "data": [
                    {"secretKey": key, "remoteRef": {"key": args.database_secret_arn, "property": key}}
                    for key in ("username", "password")
                ],
            },
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[secret_store])),
        )

        # --- the pods -----------------------------------------------------------------------------------------
        image = image_reference(self.repository.repository_url, config)
        template = pod_template(config, image, config_map_name, config_hash)
        workload_metadata = metadata(APP)
        # The HPA owns the replica count once running: a deployment must not reset it.
        workload_opts = self.child_opts(
            depends_on=[*args.depends_on, self.namespace, database_secret], ignore_changes=["spec.replicas"]
        )
        common_spec = {
            "replicas": config.replicas,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": SELECTOR},
            "template": template,
        }
        # Services by role. `ai-api` (all pods; the active one in blue-green, the ALB's root in canary) keeps its
        # resource name whatever the strategy, so switching strategy never replaces the service callers use.
        services = {"main": APP}
        if config.strategy == "rolling":
            self.workload: pulumi.CustomResource = k8s.apps.v1.Deployment(
                f"{name}-deployment",
                metadata=workload_metadata,
                spec={
                    **common_spec,
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {
                            "maxSurge": config.rolling.max_surge,
                            "maxUnavailable": config.rolling.max_unavailable,
                        },
                    },
                },
                opts=workload_opts,
            )
            workload_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP}
            ingress_backend = {"name": APP, "port": {"name": "http"}}
        else:
            if config.strategy == "canary":
                services |= {"stable": f"{APP}-stable", "canary": f"{APP}-canary"}
                strategy = {
                    "canary": {
                        "stableService": services["stable"],
                        "canaryService": services["canary"],
                        "trafficRouting": {"alb": {"ingress": APP, "rootService": APP, "servicePort": SERVICE_PORT}},
                        "analysis": {
                            "templates": [{"templateName": f"{APP}-canary"}],
                            "startingStep": 1,  # from the first 5% of traffic on
                            "args": [{"name": "revision-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}],
                        },
                        "steps": canary_steps(config),
                        "maxSurge": "25%",
                        "maxUnavailable": 0,
                        "abortScaleDownDelaySeconds": 30,
                    }
                }
                analysis_templates = {f"{APP}-canary": None}
                # The controller writes the weights into `alb.ingress.kubernetes.io/actions.<rootService>`.
                ingress_backend = {"name": APP, "port": {"name": "use-annotation"}}
            else:
                # The main service is the active one: in-cluster callers never reach an unpromoted version.
                services |= {"preview": f"{APP}-preview"}
                blue_green: dict[str, Any] = {
                    "activeService": APP,
                    "previewService": services["preview"],
                    "autoPromotionEnabled": config.blue_green.auto_promotion,
                    "scaleDownDelaySeconds": config.blue_green.scale_down_delay_seconds,
                    "abortScaleDownDelaySeconds": 30,
                    "prePromotionAnalysis": {
                        "templates": [{"templateName": f"{APP}-prepromotion"}],
                        "args": [{"name": "revision-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}],
                    },
                }
                if config.blue_green.preview_replicas is not None:
                    blue_green["previewReplicaCount"] = config.blue_green.preview_replicas
                strategy = {"blueGreen": blue_green}
                analysis_templates = {f"{APP}-prepromotion": config.analysis.prepromotion_measurements}
                ingress_backend = {"name": APP, "port": {"name": "http"}}
            self.analysis_templates = [
                k8s.apiextensions.CustomResource(
                    f"{name}-analysis-{template_name.removeprefix(APP + '-')}",
                    api_version=ROLLOUTS_API,
                    kind="AnalysisTemplate",
                    metadata=metadata(template_name),
                    spec=analysis_template_spec(config, namespace, count),
                    opts=in_namespace,
                )
                for template_name, count in analysis_templates.items()
            ]
            self.workload = k8s.apiextensions.CustomResource(
                f"{name}-rollout",
                api_version=ROLLOUTS_API,
                kind="Rollout",
                metadata=workload_metadata,
                spec={**common_spec, "progressDeadlineAbort": True, "strategy": strategy},
                opts=pulumi.ResourceOptions.merge(
                    workload_opts, pulumi.ResourceOptions(depends_on=self.analysis_templates)
                ),
            )
            workload_ref = {"apiVersion": ROLLOUTS_API, "kind": "Rollout", "name": APP}

        for role, service_name in services.items():
            k8s.core.v1.Service(
                f"{name}-service-{role}",
                metadata=metadata(service_name),
                spec={
                    "type": "ClusterIP",
                    # Argo Rollouts narrows stable/canary/active/preview to one revision with its hash label.
                    "selector": SELECTOR,
                    "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
                },
                opts=in_namespace,
            )

        # --- the edge: ALB ingress --------------------------------------------------------------------------------
        load_balancer_attributes = pulumi.Output.format(
            "access_logs.s3.enabled=true,access_logs.s3.bucket={0},access_logs.s3.prefix={1},"
            "routing.http.drop_invalid_header_fields.enabled=true,routing.http.desync_mitigation_mode=strictest,"
            "idle_timeout.timeout_seconds={2},deletion_protection.enabled={3}",
            args.logs_bucket_name,
            args.access_log_prefix,
            config.idle_timeout_seconds,
            "true" if config.load_balancer_deletion_protection else "false",
        )
        self.ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=metadata(APP, annotations=ingress_annotations(args, self.web_acl.arn, load_balancer_attributes)),
            spec={
                "ingressClassName": "alb",
                "rules": [
                    {
                        "host": config.domain_name,
                        "http": {
                            "paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": ingress_backend}}]
                        },
                    }
                ],
            },
            opts=in_namespace,
        )

        # --- availability and isolation ---------------------------------------------------------------------------
        hpa = config.hpa
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=metadata(APP),
            spec={
                "scaleTargetRef": workload_ref,
                "minReplicas": hpa.min_replicas,
                "maxReplicas": hpa.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": hpa.cpu_target_percent},
                        },
                    }
                ],
                "behavior": {
                    "scaleUp": {
                        "stabilizationWindowSeconds": hpa.scale_up_stabilization_seconds,
                        "selectPolicy": "Max",
                        "policies": [
                            {"type": "Percent", "value": hpa.scale_up_percent, "periodSeconds": hpa.period_seconds},
                            {"type": "Pods", "value": 4, "periodSeconds": hpa.period_seconds},
                        ],
                    },
                    "scaleDown": {
                        "stabilizationWindowSeconds": hpa.scale_down_stabilization_seconds,
                        "selectPolicy": "Min",
                        "policies": [
                            {"type": "Percent", "value": hpa.scale_down_percent, "periodSeconds": hpa.period_seconds}
                        ],
                    },
                },
            },
            opts=in_namespace,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=metadata(APP),
            spec={
                "maxUnavailable": config.pdb_max_unavailable,
                "selector": {"matchLabels": SELECTOR},
                # A crash-looping pod must not block a node drain.
                "unhealthyPodEvictionPolicy": "AlwaysAllow",
            },
            opts=in_namespace,
        )
        self._network_policies(name, args, in_namespace)

        self.namespace_name = namespace
        self.repository_url = self.repository.repository_url
        self.web_acl_arn = self.web_acl.arn
        self.blocklist_ip_set_arn = self.blocklist.arn
        self.role_arn = self.role.arn
        self.url = f"https://{config.domain_name}"
        self.register_outputs(
            {
                "namespace": self.namespace_name,
                "repository_url": self.repository_url,
                "web_acl_arn": self.web_acl_arn,
                "blocklist_ip_set_arn": self.blocklist_ip_set_arn,
                "role_arn": self.role_arn,
                "url": self.url,
            }
        )

    def _waf_rules(self, name: str, config: ApiConfig) -> list[dict[str, Any]]:
        """Blocklist first, then the per-IP rate limit, then the AWS managed rule groups."""
        rules: list[dict[str, Any]] = [
            {
                "name": "blocklist",
                "priority": 0,
                "action": {"block": {}},
                "statement": {"ip_set_reference_statement": {"arn": self.blocklist.arn}},
                "visibility_config": _visibility(f"{name}-blocklist"),
            },
            {
                "name": "rate-limit-per-ip",
                "priority": 1,
                "action": {"block": {}},
                "statement": {
                    "rate_based_statement": {
                        "limit": config.waf.rate_limit,
                        "aggregate_key_type": "IP",
                        "evaluation_window_sec": config.waf.rate_limit_window_seconds,
                    }
                },
                "visibility_config": _visibility(f"{name}-rate-limit"),
            },
        ]
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=2):
            statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
            if group == "AWSManagedRulesCommonRuleSet" and config.waf.common_rules_count_only:
                statement["rule_action_overrides"] = [
                    {"name": rule, "action_to_use": {"count": {}}} for rule in config.waf.common_rules_count_only
                ]
            rules.append(
                {
                    "name": group,
                    "priority": priority,
                    "override_action": {"none": {}},
                    "statement": {"managed_rule_group_statement": statement},
                    "visibility_config": _visibility(f"{name}-{group}"),
                }
            )
        return rules

    def _network_policies(self, name: str, args: AiApiArgs, opts: pulumi.ResourceOptions) -> None:
        """Default deny in the namespace; then only the ALB (and Prometheus) in, and DNS, PostgreSQL, HTTPS out."""
        config, namespace = args.config, args.config.namespace
        http = [{"protocol": "TCP", "port": CONTAINER_PORT}]
        policies: dict[str, dict[str, Any]] = {
            "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            "allow-ingress": {
                "podSelector": {"matchLabels": SELECTOR},
                "policyTypes": ["Ingress"],
                "ingress": [
                    # The ALB (target type ip) reaches the pods from its addresses in the public subnets.
                    {"from": [{"ipBlock": {"cidr": cidr}} for cidr in args.load_balancer_cidrs], "ports": http},
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": config.monitoring_namespace}
                                }
                            }
                        ],
                        "ports": http,
                    },
                ],
            },
            "allow-egress": {
                "podSelector": {"matchLabels": SELECTOR},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    },
                    {
                        "to": [{"ipBlock": {"cidr": cidr}} for cidr in args.database_cidrs],
                        "ports": [{"protocol": "TCP", "port": args.database_port}],
                    },
                    # AWS APIs (S3, SSM, STS): interface endpoints in the VPC and public endpoints through NAT or the
                    # S3 gateway endpoint; never the instance metadata service (pods use IRSA, not the node role).
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}],
                        "ports": [{"protocol": "TCP", "port": 443}],
                    },
                ],
            },
        }
        for policy_name, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy_name}",
                metadata={"name": f"{APP}-{policy_name}", "namespace": namespace, "labels": LABELS},
                spec=spec,
                opts=opts,
            )


def _visibility(metric_name: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": metric_name[:128]}
