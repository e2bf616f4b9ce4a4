"""AiApi: the workload the platform exists for, from its image repository to the internet-facing load balancer.

In its own namespace (Pod Security Admission `restricted`): a service account bound by IRSA to a role that can read
the model bucket and the stack's feature flags (SSM) and sign in to the database as `ai_app`, and nothing else;
settings in a ConfigMap; the pods (restricted security context as a UID/GID >= 10000, probes, spread over zones and
nodes, graceful termination) run as a Deployment (`rolling`) or an Argo Rollouts `Rollout` (`blue-green`, `canary`
with ALB traffic splitting and Prometheus analysis, querying the observability stack's Prometheus, which scrapes
the pods' `/metrics` on a port of their own through a ServiceMonitor). In front: Services, an ALB Ingress (HTTPS
only, modern TLS, access logs, WAF), and around them an HPA, a PodDisruptionBudget, default-deny NetworkPolicies
and, with the VPA add-on, a recommendation-only VerticalPodAutoscaler. AWS side: the ECR repository (immutable
tags, scan on push, KMS) and the WAF web ACL (AWS managed rules, rate limit, blocklist IP set, logging).

Database access: IAM database authentication as `ai_app`, the least-privilege role the migrations create (rows of
the `ai` schema, never its definition). The workload role may `rds-db:connect` as exactly
`arn:<partition>:rds-db:<region>:<account>:dbuser:<cluster resource id>/ai_app`; the app signs a 15-minute token
with the AWS SDK when it opens a connection and passes it as the password. Chosen over a Secrets Manager secret of
its own because no secret then exists: nothing to sync into the namespace, nothing to leak from it, and no
rotation that breaks new connections until the pods restart. The namespace has no access to the RDS-managed
master secret (no SecretStore, no ExternalSecret, no decrypt on the database key): the master credentials serve
only the migrations. Host, port, database, user, `sslmode=verify-full` and the CA bundle path reach the container
as libpq's `PG*` variables from the ConfigMap.

Switching the release strategy is a config change (`ai-platform:api.strategy`); how to drive a release is in the
README's "Releasing ai-api", how the app connects in "Reaching the database".

Modules: `registry` (ECR), `edge` (WAF, Ingress), `workload` (namespace, identity, settings, pods, Services),
`release` (pure builders of the pod template and the release strategies), `guards` (HPA, PDB, NetworkPolicies,
VPA), `names` (names, labels and ports they share).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from components.ai_api import edge, guards, registry, secrets, workload
from components.ai_api.names import SETTINGS_CONFIG_MAP
from components.ai_api.release import pod_template, release_shape
from components.base import PlatformComponent
from config import ApiConfig
from lib.aws import AwsContext

__all__ = ["AiApi", "AiApiArgs"]


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
    certificate_arn: the ACM certificate the ALB's HTTPS listener serves: `api.certificate_arn`, or the one the
        platform issued through its zone (its validation's output, so the Ingress waits until it is issued).
    database_cluster_resource_id: the Aurora cluster's resource id (`cluster-...`), for `rds-db:connect`.
    database_endpoint, database_port, database_name: where the pods connect (the writer endpoint).
    load_balancer_cidrs: the public subnets' CIDRs (the ALB's addresses: network policy ingress).
    database_cidrs: the database subnets' CIDRs (network policy egress to PostgreSQL).
    argo_rollouts_enabled: whether the Rollout CRDs exist (blue-green and canary need them).
    alb_tags: tags the load balancer controller puts on the ALB and its target groups (default none).
    prometheus_address: the Prometheus the release analyses query (the observability stack's); None without
        observability, which only the `rolling` strategy allows.
    monitoring_namespace: where Prometheus runs: the network policy admits it to the pods' metrics port (none
        admitted when None).
    otlp_endpoint: the OpenTelemetry collector's OTLP/HTTP address (`OTEL_EXPORTER_OTLP_ENDPOINT`, and the network
        policy's egress to it); None (no collector) sets no OTLP variable.
    direct_health_path: a path the ALB also routes when a request names the ALB itself rather than domain_name:
        what a Route 53 health check of this region's ALB requests (it sends the ALB's host name as Host header and
        SNI); None (default): only domain_name is routed.

    Ordering (default none), so that each object waits for what its own creation needs and nothing else:
    rollouts_ready: the Argo Rollouts add-on; the Rollout and AnalysisTemplates wait for it (their CRDs).
    load_balancer_ready: the AWS Load Balancer Controller; the Ingress waits for it (the ALB), and so do the pods
        (the controller's webhook injects their ALB readiness gates when they are created).
    access_logs_ready: the logs bucket with its policy; the Ingress waits for it (the ALB refuses an access-log
        bucket that does not admit Elastic Load Balancing yet).
    capacity_ready: nodes the pods can run on (and cluster DNS); the pods wait for it.
    vpa_ready: the Vertical Pod Autoscaler add-on (its CRD and recommender): when set, the workload gets a
        recommendation-only VerticalPodAutoscaler that waits for it; empty (VPA off), none is declared.
    schema_ready: the schema migrations; only the pods wait for them (nothing else reads the schema).
    monitoring_ready: the metrics stack (ServiceMonitor CRD, operator): when set, the pods get a ServiceMonitor
        that waits for it; empty (observability off), none is declared.
    cluster_secret_store_name: the external-secrets store reading `ai-platform/<stack>/` (None: no secrets synced).
    secrets_ready: what the application secrets' ExternalSecrets wait for: the external-secrets add-on and the
        secrets themselves with their first value (`ApplicationSecrets`).
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
    certificate_arn: pulumi.Input[str]
    database_cluster_resource_id: pulumi.Input[str]
    database_endpoint: pulumi.Input[str]
    database_port: pulumi.Input[int]
    database_name: pulumi.Input[str]
    load_balancer_cidrs: Sequence[pulumi.Input[str]]
    database_cidrs: Sequence[pulumi.Input[str]]
    argo_rollouts_enabled: bool
    alb_tags: Mapping[str, str] = field(default_factory=dict)
    prometheus_address: str | None = None
    monitoring_namespace: str | None = None
    otlp_endpoint: str | None = None
    direct_health_path: str | None = None
    rollouts_ready: Sequence[pulumi.Resource] = ()
    load_balancer_ready: Sequence[pulumi.Resource] = ()
    access_logs_ready: Sequence[pulumi.Resource] = ()
    capacity_ready: Sequence[pulumi.Resource] = ()
    vpa_ready: Sequence[pulumi.Resource] = ()
    schema_ready: Sequence[pulumi.Resource] = ()
    monitoring_ready: Sequence[pulumi.Resource] = ()
    cluster_secret_store_name: str | None = None
    secrets_ready: Sequence[pulumi.Resource] = ()


class AiApi(PlatformComponent):
    """The ai-api workload: Kubernetes objects, its ECR repository, WAF web ACL, IRSA role and feature flags.

    Every Kubernetes object waits for `opts.depends_on` (`waits_for`, what they all need) and the namespace; on
    top of that each waits for the specific readiness its creation needs (`AiApiArgs`: the external-secrets,
    Argo Rollouts and load balancer add-ons, capacity, the schema). The AWS resources (ECR, WAF, IAM, SSM) need
    none of it: they start at once.
    """

    area = "ai-api"

    def __init__(self, name: str, args: AiApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config = args.config
        if config.strategy != "rolling" and not args.argo_rollouts_enabled:
            raise ValueError(f"strategy {config.strategy!r} needs Argo Rollouts; enable addons.argo_rollouts")
        if config.strategy != "rolling" and args.prometheus_address is None:
            raise ValueError(f"strategy {config.strategy!r} needs Prometheus for its analysis; enable observability")
        shape = release_shape(config)

        # AWS: where the images live, what filters the traffic, what the pods may switch on.
        self.repository = registry.image_repository(
            self, name, stack=args.stack, ecr=config.ecr, kms_key_arn=args.storage_kms_key_arn
        )
        self.blocklist, self.web_acl = edge.web_acl(
            self, name, stack=args.stack, waf=config.waf, logs_kms_key_arn=args.logs_kms_key_arn
        )
        self.feature_flags = workload.feature_flags(self, name, args)

        # Kubernetes: a namespace of its own; everything in it waits for the namespace.
        self.namespace = workload.namespace(name, args, self.child_opts(depends_on=list(self.waits_for)))
        in_namespace = self.child_opts(depends_on=[*self.waits_for, self.namespace])

        def after(*ready: Sequence[pulumi.Resource] | pulumi.Resource) -> pulumi.ResourceOptions:
            """Options of an object in the namespace that also waits for `ready`."""
            extra = [r for item in ready for r in ([item] if isinstance(item, pulumi.Resource) else item)]
            return self.child_opts(depends_on=[*self.waits_for, self.namespace, *extra])

        self.role = workload.identity(self, name, args, in_namespace)
        config_hash = workload.settings(name, args, in_namespace)
        # Application secrets as files (`secrets`): the pods wait for their ExternalSecrets (the Secrets exist).
        app_secrets = (
            secrets.external_secrets(
                name, config, args.stack, args.cluster_secret_store_name, after(args.secrets_ready)
            )
            if args.cluster_secret_store_name
            else []
        )

        # The pods, released as `config.strategy` says; they start only once the schema is migrated and there are
        # nodes (and the ALB readiness-gate webhook) for them.
        rollouts = args.rollouts_ready if shape.rollout_strategy is not None else ()
        image = registry.image_reference(registry.repository_url(self.repository, args.aws), config.image)
        self.workload, self.analysis_templates = workload.pods(
            name,
            args,
            shape,
            secrets.mount(pod_template(config, image, SETTINGS_CONFIG_MAP, config_hash), config),
            opts=after(args.schema_ready, args.capacity_ready, args.load_balancer_ready, rollouts, app_secrets),
            in_namespace=after(rollouts),
        )
        workload.services(name, config.namespace, shape.services, in_namespace)
        # Prometheus scrapes every pod's metrics port through a Service of its own (the release analysis reads it).
        workload.metrics_service(name, config.namespace, in_namespace)
        if args.monitoring_ready:
            workload.service_monitor(name, config.namespace, after(args.monitoring_ready))

        # In front of them the ALB (not waiting for the pods or the schema); around them autoscaling, disruption
        # budget and network policies.
        self.ingress = edge.ingress(
            name,
            args,
            web_acl_arn=self.web_acl.arn,
            backend_port=shape.ingress_port,
            opts=after(args.load_balancer_ready, args.access_logs_ready),
        )
        guards.availability_and_isolation(
            name,
            config,
            workload_ref=shape.workload_ref,
            load_balancer_cidrs=args.load_balancer_cidrs,
            database_cidrs=args.database_cidrs,
            database_port=args.database_port,
            monitoring_namespace=args.monitoring_namespace,
            otlp_endpoint=args.otlp_endpoint,
            opts=in_namespace,
        )
        if args.vpa_ready:
            guards.recommendation_only_autoscaler(name, config.namespace, shape.workload_ref, after(args.vpa_ready))

        self.namespace_name = config.namespace
        self.repository_url = self.repository.repository_url
        self.web_acl_arn = self.web_acl.arn
        self.blocklist_ip_set_arn = self.blocklist.arn
        # The IP-blocking automation updates the set by name and id (UpdateIPSet takes both).
        self.blocklist_ip_set_id = self.blocklist.id
        self.blocklist_ip_set_name = self.blocklist.name
        self.role_arn = self.role.arn
        self.url = f"https://{config.domain_name}"
        # What the CloudWatch alarms watch: the web ACL (WAF metrics name it), the ALB by its fixed name, the cert.
        self.web_acl_name = self.web_acl.name
        self.load_balancer_name = edge.load_balancer_name(args.stack)
        self.certificate_arn = args.certificate_arn
        # What DNS points at: the ALB's host name, once the controller has created it (the Ingress's status).
        self.load_balancer_hostname = edge.load_balancer_hostname(self.ingress)
        self.register_outputs(
            {
                "namespace_name": self.namespace_name,
                "repository_url": self.repository_url,
                "web_acl_arn": self.web_acl_arn,
                "blocklist_ip_set_arn": self.blocklist_ip_set_arn,
                "blocklist_ip_set_id": self.blocklist_ip_set_id,
                "blocklist_ip_set_name": self.blocklist_ip_set_name,
                "role_arn": self.role_arn,
                "url": self.url,
                "web_acl_name": self.web_acl_name,
                "load_balancer_name": self.load_balancer_name,
                "certificate_arn": self.certificate_arn,
                "load_balancer_hostname": self.load_balancer_hostname,
            }
        )


def _ingress_hostname(status: object) -> str | None:
    """The first load balancer hostname of an Ingress status, or None while the controller has reported none."""
    balancer = getattr(status, "load_balancer", None)
    entries = getattr(balancer, "ingress", None) or []
    return next((entry.hostname for entry in entries if getattr(entry, "hostname", None)), None)
