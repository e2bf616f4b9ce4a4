"""The composition: builds every component from its slice of the validated config and wires them by outputs.

Reading this file top to bottom is reading the platform: providers, account facts, keys, network, the cluster and
its add-ons, the data layer (buckets, database, schema migrations, backups) and the ai-api workload.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons import Addons, AddonsArgs
from components.ai_api import AiApi, AiApiArgs
from components.backup import Backup, BackupArgs
from components.base import PlatformComponent
from components.cluster import Cluster, ClusterArgs
from components.database import Database, DatabaseArgs
from components.edge import (
    DnsCertificate,
    DnsCertificateArgs,
    DnsZone,
    DnsZoneArgs,
    EntryRecord,
    EntryRecordArgs,
    HealthCheckSettings,
    alb_hosted_zone_id,
    route53_home_region,
)
from components.edge.targets import ALB_HOSTED_ZONE_IDS
from components.identity import Identity, IdentityArgs
from components.migrations import DatabaseMigrations, DatabaseMigrationsArgs
from components.network import Network, NetworkArgs
from components.observability import Observability, ObservabilityArgs
from components.observability.alarm_catalog import DatabaseFacts
from components.observability.alarms import Alarms, AlarmsArgs, ApiWatch
from components.operations import CostAlertTopics, Operations, OperationsArgs, cost_allocation_tag_keys
from components.remediation import IpBlocking, IpBlockingArgs
from components.remediation.rotation import ApplicationSecrets, ApplicationSecretsArgs
from components.security import (
    AuditTrail,
    AuditTrailArgs,
    ThreatDetection,
    ThreatDetectionArgs,
    audit_bucket_arn,
    trail_arn,
)
from components.storage import Storage, StorageArgs
from config import PROJECT, StackConfig, StackConfigError
from lib.aws import AwsContext
from lib.tagging import component_tags, tagging_transformation


def resolve_availability_zones(config: StackConfig) -> tuple[str, ...]:
    """The AZs to use: those the stack names, else the first `az_count` default (non opt-in) AZs of the region.

    Called before `Platform` declares anything, so it asks through the default provider of `aws:region` (the region
    the platform's own provider uses; a lookup, not a resource): a stack naming an AZ its region does not offer, or
    more AZs than it has, stops with a `StackConfigError` before a single resource exists.
    """
    network, source = config.network, f"Pulumi.{config.stack}.yaml"
    offered = sorted(
        aws.get_availability_zones(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            region=config.region,
        ).names
    )
    if network.availability_zones:
        unknown = [az for az in network.availability_zones if az not in offered]
        if unknown:
            raise StackConfigError(
                [
                    f"{source}: ai-platform:network.availability_zones: {', '.join(unknown)} not offered by "
                    f"{config.region}; allowed: {network.az_count} of {', '.join(offered)}"
                ]
            )
        return network.availability_zones
    if len(offered) < network.az_count:
        raise StackConfigError(
            [
                f"{source}: ai-platform:network.az_count: {network.az_count} AZs asked but {config.region} offers "
                f"{len(offered)}; allowed: 2 to {len(offered)}"
            ]
        )
    return tuple(offered[: network.az_count])


def lookup_aws_context(region: str, provider: aws.Provider) -> AwsContext:
    """Account id, partition and DNS suffix of the deployment target (two read-only lookups, once per run)."""
    invoke = pulumi.InvokeOptions(provider=provider)
    identity = aws.get_caller_identity(opts=invoke)
    partition = aws.get_partition(opts=invoke)
    return AwsContext(
        account_id=identity.account_id, partition=partition.partition, region=region,
        dns_suffix=partition.dns_suffix,
    )  # fmt: skip


class Platform(PlatformComponent):
    """The whole platform of one stack."""

    area = "platform"

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        # Checked before anything is declared: an AZ the region does not offer stops the run with nothing created.
        availability_zones = resolve_availability_zones(config)
        # The tagging transformation sits on the root component, so every descendant inherits it.
        tagging = pulumi.ResourceOptions(transformations=[tagging_transformation(config.mandatory_tags())])
        super().__init__(name, pulumi.ResourceOptions.merge(opts, tagging))
        self.config = config

        self.aws_provider = aws.Provider(f"{name}-aws", region=config.region, opts=self.child_opts())
        self.aws_ctx = lookup_aws_context(config.region, self.aws_provider)
        self.cluster_name = f"{PROJECT}-{config.stack}"
        # The stack owning the account's security services also owns the trail: its key and its bucket's access
        # logs are prepared by the identity and storage layers, before the trail exists.
        self.owns_account_security = config.security.manage_account_security

        self._foundation(name, config, availability_zones)
        self._observability(name, config)
        self._data_layer(name, config)
        self._dns(name, config)
        self._workload(name, config)
        self._entry(name, config)
        self._remediation(name, config)
        self._alarms(name, config)
        self._operations(name, config)
        self._security(name, config)

        self.register_outputs(self.exports())

    def _foundation(self, name: str, config: StackConfig, availability_zones: tuple[str, ...]) -> None:
        """Keys, the network, the EKS cluster with its Kubernetes provider, and the cluster's add-ons."""
        self.identity = Identity(
            f"{name}-identity",
            IdentityArgs(
                config=config.identity,
                aws=self.aws_ctx,
                audit_trail_arn=trail_arn(config.stack, self.aws_ctx) if self.owns_account_security else None,
            ),
            self._aws_opts(),
        )

        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                config=config.network,
                availability_zones=availability_zones,
                logs_kms_key_arn=self.identity.key_arns["logs"],
                aws=self.aws_ctx,
            ),
            self._aws_opts(),
        )

        self.cluster = Cluster(
            f"{name}-cluster",
            ClusterArgs(
                config=config.cluster,
                cluster_name=self.cluster_name,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                secrets_kms_key_arn=self.identity.key_arns["eks"],
                logs_kms_key_arn=self.identity.key_arns["logs"],
                aws=self.aws_ctx,
                node_tags=component_tags(config.mandatory_tags(), Cluster.area),
            ),
            self._aws_opts(),
        )
        # The kubeconfig grants cluster access: exported only as a secret.
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(self.cluster.kubeconfig)
        # Every Kubernetes object (add-ons, workload) goes through this provider, built from the cluster's
        # kubeconfig (which authenticates with `aws eks get-token`); server-side apply detects field conflicts.
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.cluster.kubeconfig,
            enable_server_side_apply=True,
            delete_unreachable=False,
            opts=self.child_opts(),
        )
        self.addons = Addons(
            f"{name}-addons",
            AddonsArgs(
                config=config.addons,
                cluster_name=self.cluster_name,
                oidc_provider_arn=self.cluster.oidc_provider_arn,
                oidc_issuer=self.cluster.oidc_issuer,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                node_security_group_id=self.cluster.node_security_group_id,
                imds_hop_limit=config.cluster.imds_hop_limit,
                secrets_path_prefix=f"{PROJECT}/{config.stack}/",
                kubernetes_version=self.cluster.kubernetes_version,
                node_tags=component_tags(config.mandatory_tags(), Addons.area),
                aws=self.aws_ctx,
                maintenance=config.maintenance,
            ),
            self.child_opts(
                providers={"aws": self.aws_provider, "kubernetes": self.k8s_provider},
                depends_on=[self.cluster],
            ),
        )

    def _observability(self, name: str, config: StackConfig) -> None:
        """Metrics, alert rules and routing, logs and traces in the cluster, before the workload it watches: the
        release analyses of the workload query this Prometheus."""
        self.observability: Observability | None = None
        if config.observability.enabled:
            self.observability = Observability(
                f"{name}-observability",
                ObservabilityArgs(
                    config=config.observability,
                    stack=config.stack,
                    cluster_name=self.cluster_name,
                    kubernetes_version=self.cluster.kubernetes_version,
                    oidc_provider_arn=self.cluster.oidc_provider_arn,
                    oidc_issuer=self.cluster.oidc_issuer,
                    logs_kms_key_arn=self.identity.key_arns["logs"],
                    secrets_path_prefix=self.addons.secrets_path_prefix,
                    cluster_secret_store_name=self.addons.cluster_secret_store_name,
                    storage_class=self.addons.storage_class_name,
                    aws=self.aws_ctx,
                    secrets_ready=self.addons.secrets_ready,
                    api=config.api,
                ),
                self.child_opts(
                    providers={"aws": self.aws_provider, "kubernetes": self.k8s_provider},
                    depends_on=[self.cluster],
                ),
            )

    def _data_layer(self, name: str, config: StackConfig) -> None:
        """Buckets first (backups cover them), then the database and its schema migrations, then the backup plan
        over both."""
        self.storage = Storage(
            f"{name}-storage",
            StorageArgs(
                config=config.storage,
                kms_key_arn=self.identity.key_arns["storage"],
                bucket_name_prefix=f"{PROJECT}-{config.stack}",
                aws=self.aws_ctx,
                log_source_bucket_arns=(
                    (audit_bucket_arn(config.stack, self.aws_ctx),) if self.owns_account_security else ()
                ),
            ),
            self._aws_opts(),
        )
        self.database = Database(
            f"{name}-database",
            DatabaseArgs(
                config=config.database,
                vpc_id=self.network.vpc_id,
                subnet_ids=self.network.database_subnet_ids,
                availability_zones=tuple(self.network.availability_zones),
                # Pods use their node's security group (VPC CNI, no per-pod groups), and every node (managed groups
                # through their launch templates, Karpenter through its EC2NodeClass) has exactly the node group's
                # security group. The control plane never talks to the database: nothing else reaches 5432.
                client_security_groups={"nodes": self.cluster.node_security_group_id},
                kms_key_arn=self.identity.key_arns["database"],
                logs_kms_key_arn=self.identity.key_arns["logs"],
                aws=self.aws_ctx,
            ),
            self._aws_opts(),
        )
        # Schema as code: the SQL migrations run in-cluster with the managed master secret, synced by external-secrets
        # (skipped when external-secrets is off: nothing could deliver the credentials).
        self.migrations: DatabaseMigrations | None = None
        if self.addons.cluster_secret_store_name is not None:
            self.migrations = DatabaseMigrations(
                f"{name}-db-migrations",
                DatabaseMigrationsArgs(
                    master_user_secret_arn=self.database.master_user_secret_arn,
                    host=self.database.endpoint,
                    port=self.database.port,
                    database_name=self.database.database_name,
                    database_cidrs=self.network.database_subnet_cidrs,
                    secret_kms_key_arn=self.identity.key_arns["database"],
                    oidc_provider_arn=self.cluster.oidc_provider_arn,
                    oidc_issuer=self.cluster.oidc_issuer,
                    aws=self.aws_ctx,
                    kubernetes_version=self.cluster.kubernetes_version,
                    secrets_ready=self.addons.secrets_ready,
                ),
                # The Job needs a running writer instance (not the readers, not the other add-ons) and somewhere to
                # run: the cluster's nodes and DNS, and the workload capacity (Karpenter's pool).
                self.child_opts(
                    providers={"aws": self.aws_provider, "kubernetes": self.k8s_provider},
                    depends_on=[*self.database.writer_ready, self.cluster, *self.addons.capacity_ready],
                ),
            )
        self.backup = Backup(
            f"{name}-backup",
            BackupArgs(
                config=config.backup,
                kms_key_arn=self.identity.key_arns["backup"],
                protected_resources={"database": self.database.cluster_arn, **self.storage.data_bucket_arns},
                # The security key: the IP-blocking table joins the plan (components/remediation).
                source_kms_key_arns=[
                    self.identity.key_arns["storage"],
                    self.identity.key_arns["database"],
                    self.identity.key_arns["security"],
                ],
                aws=self.aws_ctx,
                # Cross-region copies: set by the disaster-recovery work (a vault in the DR region).
                copy_destination_vault_arn=None,
            ),
            self._aws_opts(),
        )

    def _dns(self, name: str, config: StackConfig) -> None:
        """The public hosted zone with its query logs, and the ai-api certificate issued through it (unless
        `api.certificate_arn` names one): both need nothing of the cluster and start at once."""
        self.dns_zone: DnsZone | None = None
        self.certificate: DnsCertificate | None = None
        self.certificate_arn: pulumi.Input[str] | None = config.api.certificate_arn if config.api else None
        if config.dns is None:
            return
        if config.api is not None and config.region not in ALB_HOSTED_ZONE_IDS:
            raise StackConfigError(
                [
                    f"Pulumi.{config.stack}.yaml: aws:region: {config.region} has no known ALB hosted zone id for the "
                    f"ai-api record of ai-platform:dns; allowed: {', '.join(sorted(ALB_HOSTED_ZONE_IDS))}"
                ]
            )
        in_logs_region = config.region == route53_home_region(self.aws_ctx.partition)
        self.dns_zone = DnsZone(
            f"{name}-dns",
            DnsZoneArgs(
                config=config.dns,
                stack=config.stack,
                aws=self.aws_ctx,
                logs_kms_key_arn=self.identity.key_arns["logs"] if in_logs_region else None,
            ),
            self._aws_opts(),
        )
        if config.api is not None and config.api.certificate_arn is None:
            self.certificate = DnsCertificate(
                f"{name}-api-certificate",
                DnsCertificateArgs(
                    domain_name=config.api.domain_name,
                    zone_id=self.dns_zone.zone_id,
                    key_algorithm=config.dns.certificate.key_algorithm,
                ),
                self._aws_opts(),
            )
            self.certificate_arn = self.certificate.certificate_arn

    def _api_certificate_arn(self) -> pulumi.Input[str]:
        """The certificate the ai-api's ALB serves: `api.certificate_arn`, else the one issued through the zone
        (the config refuses an ai-api with neither)."""
        if self.certificate_arn is None:
            raise StackConfigError([f"Pulumi.{self.config.stack}.yaml: ai-platform:api: no certificate source"])
        return self.certificate_arn

    @staticmethod
    def _failover(config: StackConfig) -> bool:
        """Whether the ai-api's name is a failover pair (DR warm-standby with a zone) rather than one alias."""
        return config.dns is not None and config.dr.strategy == "warm-standby"

    def _workload(self, name: str, config: StackConfig) -> None:
        """The ai-api workload, after what it needs: the cluster's add-ons (ALB controller, Argo Rollouts), the
        buckets, the database and the observability stack. A stack without `ai-platform:api` runs the platform
        alone."""
        self.ai_api: AiApi | None = None
        self.app_secrets: ApplicationSecrets | None = None
        if config.api is not None and config.api.secrets:
            self.app_secrets = ApplicationSecrets(
                f"{name}-app-secrets",
                ApplicationSecretsArgs(
                    secrets=config.api.secrets,
                    rotation=config.security.rotation,
                    stack=config.stack,
                    aws=self.aws_ctx,
                    kms_key_arn=self.identity.key_arns["security"],
                    alerts_kms_key_arn=self.identity.key_arns["alerts"],
                    logs_kms_key_arn=self.identity.key_arns["logs"],
                ),
                self._aws_opts(),
            )
        if config.api is not None:
            self.ai_api = AiApi(
                f"{name}-ai-api",
                AiApiArgs(
                    config=config.api,
                    stack=config.stack,
                    aws=self.aws_ctx,
                    kubernetes_version=self.cluster.kubernetes_version,
                    oidc_provider_arn=self.cluster.oidc_provider_arn,
                    oidc_issuer=self.cluster.oidc_issuer,
                    model_bucket_name=self.storage.bucket_names["models"],
                    model_bucket_arn=self.storage.bucket_arns["models"],
                    storage_kms_key_arn=self.identity.key_arns["storage"],
                    logs_kms_key_arn=self.identity.key_arns["logs"],
                    logs_bucket_name=self.storage.logs_bucket_name,
                    access_log_prefix=self.storage.alb_access_log_prefix,
                    certificate_arn=self._api_certificate_arn(),
                    # The primary's Route 53 health check names the ALB itself: its path is routed for any host.
                    direct_health_path=config.dr.dns.health_check_path if self._failover(config) else None,
                    # IAM database authentication as `ai_app`: no master secret, no database key for the workload.
                    database_cluster_resource_id=self.database.cluster_resource_id,
                    database_endpoint=self.database.endpoint,
                    database_port=self.database.port,
                    database_name=self.database.database_name,
                    load_balancer_cidrs=self.network.public_subnet_cidrs,
                    database_cidrs=self.network.database_subnet_cidrs,
                    argo_rollouts_enabled=self.addons.argo_rollouts_enabled,
                    alb_tags=component_tags(config.mandatory_tags(), AiApi.area),
                    otlp_endpoint=self.observability.otlp_endpoint if self.observability else None,
                    # Each object waits for what it needs: the add-ons whose CRDs or webhooks it uses, the buckets'
                    # policies (the ALB refuses an access-log bucket that does not admit Elastic Load Balancing yet),
                    # nodes, and the schema (only the pods: they never start against a database without tables).
                    rollouts_ready=self.addons.rollouts_ready,
                    load_balancer_ready=self.addons.load_balancer_ready,
                    access_logs_ready=[self.storage],
                    capacity_ready=[self.cluster, *self.addons.capacity_ready],
                    schema_ready=[self.migrations] if self.migrations else [],
                    vpa_ready=self.addons.vpa_ready,
                    # The release analyses query the observability stack's Prometheus, which scrapes the pods (the
                    # ServiceMonitor waits for its CRDs; the network policy admits it from its namespace).
                    prometheus_address=self.observability.prometheus_address if self.observability else None,
                    monitoring_namespace=self.observability.namespace if self.observability else None,
                    monitoring_ready=self.observability.monitoring_ready if self.observability else (),
                    # Application secrets sync once the controller runs and each secret has its first value.
                    cluster_secret_store_name=self.addons.cluster_secret_store_name,
                    secrets_ready=[*self.addons.secrets_ready, *([self.app_secrets] if self.app_secrets else [])],
                ),
                self.child_opts(providers={"aws": self.aws_provider, "kubernetes": self.k8s_provider}),
            )

    def _entry(self, name: str, config: StackConfig) -> None:
        """The ai-api's public name pointing at the ALB the load balancer controller created (the Ingress's status):
        an alias, or with DR warm-standby the primary failover record with its health check (the standby side
        declares the secondary with its own ALB)."""
        self.entry: EntryRecord | None = None
        if self.dns_zone is None or self.ai_api is None or config.api is None:
            return
        failover = self._failover(config)
        dns = config.dr.dns
        self.entry = EntryRecord(
            f"{name}-api-entry",
            EntryRecordArgs(
                zone_id=self.dns_zone.zone_id,
                record_name=config.api.domain_name,
                target_hostname=self.ai_api.load_balancer_hostname,
                target_zone_id=alb_hosted_zone_id(config.region),
                role="primary" if failover else "simple",
                ttl_seconds=dns.record_ttl_seconds,
                health_check=(
                    HealthCheckSettings(
                        path=dns.health_check_path,
                        interval_seconds=dns.health_check_interval_seconds,
                        failure_threshold=dns.health_check_failure_threshold,
                    )
                    if failover
                    else None
                ),
            ),
            self._aws_opts(),
        )

    def _remediation(self, name: str, config: StackConfig) -> None:
        """Automated IP blocking at the ai-api's WAF, after the ai-api (it maintains the web ACL's blocklist): needs
        the workload's edge, so a stack without `ai-platform:api` has none."""
        self.ip_blocking: IpBlocking | None = None
        if self.ai_api is not None and config.security.ip_blocking.enabled:
            self.ip_blocking = IpBlocking(
                f"{name}-ip-blocking",
                IpBlockingArgs(
                    config=config.security.ip_blocking,
                    stack=config.stack,
                    aws=self.aws_ctx,
                    ip_set_arn=self.ai_api.blocklist_ip_set_arn,
                    ip_set_id=self.ai_api.blocklist_ip_set_id,
                    ip_set_name=self.ai_api.blocklist_ip_set_name,
                    table_kms_key_arn=self.identity.key_arns["security"],
                    alerts_kms_key_arn=self.identity.key_arns["alerts"],
                    logs_kms_key_arn=self.identity.key_arns["logs"],
                    backup_plan_id=self.backup.plan_id,
                    backup_role_arn=self.backup.role_arn,
                ),
                self._aws_opts(),
            )

    def _alarms(self, name: str, config: StackConfig) -> None:
        """CloudWatch alarms and a dashboard, last, from the outputs of what they watch; alerts go to an SNS topic
        per severity."""
        self.alarms: Alarms | None = None
        if config.observability.enabled:
            self.alarms = Alarms(
                f"{name}-alarms",
                AlarmsArgs(
                    config=config.observability,
                    stack=config.stack,
                    aws=self.aws_ctx,
                    kms_key_arn=self.identity.key_arns["alerts"],
                    database=DatabaseFacts(
                        cluster_identifier=self.database.cluster_identifier,
                        instance_class=self.database.instance_class,
                        serverless_max_capacity=self.database.serverless_max_capacity,
                        reader_count=self.database.reader_count,
                        max_connections=config.observability.cloudwatch.database_max_connections,
                    ),
                    backup_vault_name=self.backup.vault_name,
                    interruption_queue_name=self.addons.karpenter_interruption_queue_name,
                    api=(
                        ApiWatch(
                            web_acl_name=self.ai_api.web_acl_name,
                            load_balancer_name=self.ai_api.load_balancer_name,
                            certificate_arn=self.ai_api.certificate_arn,
                            health_check_id=self.entry.health_check_id if self.entry else None,
                        )
                        if self.ai_api
                        else None
                    ),
                ),
                self._aws_opts(),
            )

    def _operations(self, name: str, config: StackConfig) -> None:
        """The stack's budget and cost-anomaly alerts (into the alert topics), cost-allocation tags, and the notice
        users get before each maintenance window."""
        self.operations = Operations(
            f"{name}-operations",
            OperationsArgs(
                stack=config.stack,
                cost=config.cost,
                maintenance=config.maintenance,
                cost_allocation_tag_keys=cost_allocation_tag_keys(config.mandatory_tags()),
                alert_topics=(
                    CostAlertTopics(info=self.alarms.topic_arns["info"], warning=self.alarms.topic_arns["warning"])
                    if self.alarms
                    else None
                ),
                kms_key_arn=self.identity.key_arns["alerts"],
                aws=self.aws_ctx,
            ),
            self._aws_opts(),
        )

    def _security(self, name: str, config: StackConfig) -> None:
        """The account's audit trail and threat detection, only in the stack that owns them
        (`security.manage_account_security`); findings go to the alert topics (config requires observability)."""
        self.audit_trail: AuditTrail | None = None
        self.threat_detection: ThreatDetection | None = None
        if not self.owns_account_security or self.alarms is None:
            return
        security = config.security
        self.audit_trail = AuditTrail(
            f"{name}-audit",
            AuditTrailArgs(
                config=security.cloudtrail,
                stack=config.stack,
                aws=self.aws_ctx,
                audit_kms_key_arn=self.identity.key_arns["audit"],
                logs_kms_key_arn=self.identity.key_arns["logs"],
                logs_bucket_name=self.storage.logs_bucket_name,
                data_bucket_arns=self.storage.data_bucket_arns,
            ),
            # The logs bucket's policy must admit the trail bucket's access logs first.
            self.child_opts(providers={"aws": self.aws_provider}, depends_on=[self.storage]),
        )
        self.threat_detection = ThreatDetection(
            f"{name}-detection",
            ThreatDetectionArgs(
                guardduty=security.guardduty,
                security_hub=security.security_hub,
                inspector=security.inspector,
                stack=config.stack,
                aws=self.aws_ctx,
                topic_arns=self.alarms.topic_arns,
            ),
            # The alert topics' policies admit this stack's EventBridge rules before a finding is delivered.
            self.child_opts(providers={"aws": self.aws_provider}, depends_on=[self.alarms]),
        )

    def _aws_opts(self) -> pulumi.ResourceOptions:
        """Options of a component that only declares AWS resources: a child on the primary region's provider."""
        return self.child_opts(providers={"aws": self.aws_provider})

    def exports(self) -> dict[str, pulumi.Input[object]]:
        """What operators need from a stack (`pulumi stack output`), as listed in `OUTPUTS`; secrets stay secret."""
        return {
            "environment": self.config.environment,
            "region": self.config.region,
            "vpc_id": self.network.vpc_id,
            "vpc_cidr": self.network.vpc_cidr,
            "availability_zones": self.network.availability_zones,
            "public_subnet_ids": self.network.public_subnet_ids,
            "private_subnet_ids": self.network.private_subnet_ids,
            "database_subnet_ids": self.network.database_subnet_ids,
            "kms_key_arns": self.identity.key_arns,
            "cluster_name": self.cluster.cluster_name,
            "cluster_endpoint": self.cluster.endpoint,
            "kubernetes_version": self.cluster.kubernetes_version,
            "oidc_provider_arn": self.cluster.oidc_provider_arn,
            "kubeconfig": self.kubeconfig,
            "secrets_path_prefix": self.addons.secrets_path_prefix,
            **self._data_exports(),
            **self._dns_exports(),
            **self._ai_api_exports(),
            **self._security_exports(),
        }

    def _security_exports(self) -> dict[str, pulumi.Input[object]]:
        """The account's trail and detector, null in a stack that does not own them."""
        trail, detection = self.audit_trail, self.threat_detection
        return {
            "audit_trail_arn": trail.trail_arn if trail else None,
            "audit_bucket_name": trail.bucket_name if trail else None,
            "audit_log_group_name": trail.log_group_name if trail else None,
            "guardduty_detector_id": detection.detector_id if detection else None,
            "securityhub_standards_arns": detection.standards_arns if detection else None,
        }

    def _dns_exports(self) -> dict[str, pulumi.Input[object]]:
        """The zone (and the name servers to delegate to when the stack created it)."""
        if self.dns_zone is None:
            return {}
        return {
            "dns_zone_id": self.dns_zone.zone_id,
            "dns_zone_name_servers": self.dns_zone.name_servers,
            "dns_query_log_group": self.dns_zone.query_log_group_name,
        }

    def _data_exports(self) -> dict[str, pulumi.Input[object]]:
        """How to reach the database (no credentials: the password lives only in Secrets Manager), the buckets,
        and the backup vault."""
        database = self.database
        return {
            "database_endpoint": database.endpoint,
            "database_reader_endpoint": database.reader_endpoint,
            "database_port": database.port,
            "database_name": database.database_name,
            "database_master_username": database.master_username,
            "database_master_secret_arn": database.master_user_secret_arn,
            "database_cluster_identifier": database.cluster_identifier,
            "database_cluster_resource_id": database.cluster_resource_id,
            "database_security_group_id": database.security_group_id,
            "database_migrations_job": self.migrations.job_name if self.migrations else None,
            "bucket_names": self.storage.bucket_names,
            "backup_vault_name": self.backup.vault_name,
            "backup_role_arn": self.backup.role_arn,
            "backup_notifications_topic_arn": self.backup.notifications_topic_arn,
            "alert_topic_arns": dict(self.alarms.topic_arns) if self.alarms else None,
            "budget_name": self.operations.budget_name,
            "maintenance_notice_topic_arn": self.operations.notice_topic_arn,
        }

    def _ai_api_exports(self) -> dict[str, pulumi.Input[object]]:
        """The workload's address, image repository and edge security ARNs (the WAF blocklist is for automation)."""
        if self.ai_api is None:
            return {}
        return {
            "ai_api_url": self.ai_api.url,
            "ai_api_namespace": self.ai_api.namespace_name,
            "ai_api_repository_url": self.ai_api.repository_url,
            "ai_api_role_arn": self.ai_api.role_arn,
            "waf_web_acl_arn": self.ai_api.web_acl_arn,
            "waf_blocklist_ip_set_arn": self.ai_api.blocklist_ip_set_arn,
            "ai_api_certificate_arn": self.ai_api.certificate_arn,
            "ai_api_load_balancer_hostname": self.ai_api.load_balancer_hostname,
            "ip_blocking_function_name": self.ip_blocking.function_name if self.ip_blocking else None,
            "ip_blocking_table_name": self.ip_blocking.table_name if self.ip_blocking else None,
        }


# Every stack output (`pulumi stack output <name>`) and what it is for: the one list `Platform.exports()` follows
# and docs/outputs.md is generated from. Outputs of the ai-api workload exist only with `ai-platform:api`, those of
# the zone only with `ai-platform:dns`.
API_ONLY = "Only with `ai-platform:api`: "
DNS_ONLY = "Only with `ai-platform:dns`: "
OWNER_ONLY = "Null unless `ai-platform:security.manage_account_security`: "
OUTPUTS: dict[str, str] = {
    "budget_name": "The stack's monthly AWS Budget (`ai-platform:cost`): actual and forecast alerts go to the alert "
    "topics.",
    "maintenance_notice_topic_arn": "SNS topic of the notices sent `maintenance.notice_hours` before each maintenance "
    "window (subscribe a status page or a mailbox); none without a window.",
    "environment": "The stack's `ai-platform:environment` (dev, staging or prod).",
    "region": "The stack's AWS region (`aws:region`).",
    "vpc_id": "ID of the VPC.",
    "vpc_cidr": "IPv4 range of the VPC.",
    "availability_zones": "The availability zones the subnets are spread over, in subnet order.",
    "public_subnet_ids": "Public subnets, one per AZ (load balancers, NAT gateways).",
    "private_subnet_ids": "Private (workload) subnets, one per AZ: EKS nodes and pods.",
    "database_subnet_ids": "Database subnets, one per AZ, without a route to the internet.",
    "kms_key_arns": "Customer-managed KMS key ARN per purpose (eks, database, storage, logs, backup, alerts, "
    "security; audit in the stack owning the account's trail).",
    "cluster_name": "Name of the EKS cluster (`ai-platform-<stack>`).",
    "cluster_endpoint": "Kubernetes API endpoint of the cluster (private unless the public endpoint is on).",
    "kubernetes_version": "Kubernetes version of the control plane.",
    "oidc_provider_arn": "IAM OIDC provider of the cluster, for IRSA roles made outside this stack.",
    "kubeconfig": "Secret. Kubeconfig of the cluster (`pulumi stack output --show-secrets kubeconfig`).",
    "secrets_path_prefix": "Secrets Manager name prefix the shared ClusterSecretStore may read "
    "(`ai-platform/<stack>/`).",
    "database_endpoint": "Writer endpoint of the Aurora cluster.",
    "database_reader_endpoint": "Reader endpoint of the Aurora cluster (load-balanced over the readers).",
    "database_port": "PostgreSQL port of the Aurora cluster.",
    "database_name": "Database created with the cluster.",
    "database_master_username": "Master user name (its password lives only in the RDS-managed secret).",
    "database_master_secret_arn": "ARN of the RDS-managed master secret (rotated by RDS).",
    "database_cluster_identifier": "Identifier of the Aurora cluster.",
    "database_cluster_resource_id": "Resource id of the Aurora cluster, for `rds-db:connect` IAM policies.",
    "database_security_group_id": "Security group of the database (PostgreSQL open to the EKS nodes only).",
    "database_migrations_job": "Name of the schema-migrations Job; null when external-secrets is disabled.",
    "bucket_names": "S3 bucket name per purpose (models, data, exports, logs).",
    "backup_vault_name": "AWS Backup vault holding the recovery points.",
    "backup_role_arn": "IAM role AWS Backup assumes for the plan; on-demand jobs (`ops db maintenance`) use it too.",
    "backup_notifications_topic_arn": "SNS topic of backup and restore events; subscribe the on-call channel.",
    "alert_topic_arns": "SNS topic ARN per severity (critical, warning, info) the CloudWatch alarms and backup-job "
    'failures publish to; subscribe PagerDuty and AWS Chatbot here (README "CloudWatch alarms"). Null when '
    "observability is disabled.",
    "dns_zone_id": DNS_ONLY + "id of the public hosted zone (created, or `dns.zone_id`).",
    "dns_zone_name_servers": DNS_ONLY + "the four name servers of a zone the stack created: delegate the zone's name "
    'to them at the registrar or in the parent zone, once (README "DNS and certificates"); null for an existing '
    "zone.",
    "dns_query_log_group": DNS_ONLY + "CloudWatch Logs group (us-east-1) of the zone's DNS query logs.",
    "ai_api_url": API_ONLY + "public URL of the API (`https://<domain_name>`).",
    "ai_api_namespace": API_ONLY + "Kubernetes namespace of the workload.",
    "ai_api_repository_url": API_ONLY + "ECR repository to push the ai-api image to.",
    "ai_api_role_arn": API_ONLY + "IRSA role of the ai-api pods.",
    "waf_web_acl_arn": API_ONLY + "WAF web ACL in front of the ALB.",
    "waf_blocklist_ip_set_arn": API_ONLY + "WAF IP set the security automation adds addresses to (deployments "
    "leave its list alone).",
    "ai_api_certificate_arn": API_ONLY + "ACM certificate the ALB serves: issued through the zone, or "
    "`api.certificate_arn`.",
    "ai_api_load_balancer_hostname": API_ONLY + "DNS name of the ALB the load balancer controller created (what "
    "the ai-api record points at).",
    "audit_trail_arn": OWNER_ONLY + "the account's multi-region CloudTrail trail.",
    "audit_bucket_name": OWNER_ONLY + "the trail's Object-Locked bucket (log files under `AWSLogs/<account>/`).",
    "audit_log_group_name": OWNER_ONLY + "the trail's CloudWatch Logs copy, for Logs Insights queries.",
    "guardduty_detector_id": OWNER_ONLY + "the account's GuardDuty detector in the stack's region.",
    "securityhub_standards_arns": OWNER_ONLY + "the Security Hub standards enabled (FSBP, CIS).",
    "ip_blocking_function_name": API_ONLY + "Lambda that blocks GuardDuty findings' remote IPs at the WAF and expires "
    "the blocks (`python -m ops security list-blocks`); null when `security.ip_blocking.enabled` is false.",
    "ip_blocking_table_name": API_ONLY + "DynamoDB table recording the automation's blocks (who, why, until when); "
    "null when IP blocking is disabled.",
}


def build(config: StackConfig) -> Platform:
    """Declare the platform for a validated config and export its outputs (the whole body of `__main__.py`)."""
    platform = Platform(config.stack, config)
    for key, value in platform.exports().items():
        pulumi.export(key, value)
    return platform
