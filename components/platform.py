"""The composition: builds every component from its slice of the validated config and wires them by outputs.

Reading this file top to bottom is reading the platform: providers, account facts, keys, network, the cluster and
its add-ons, the data layer (buckets, database, schema migrations, disaster recovery, backups) and the ai-api
workload. With disaster recovery the same layer methods build a second site in the DR region from the same
components (`components/site.py` says what differs); the primary site keeps the names it always had.
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
from components.database import Database, DatabaseArgs, GlobalDatabase
from components.dr import DisasterRecovery, DisasterRecoveryArgs, ReplicatedBucket
from components.edge import (
    DnsCertificate,
    DnsCertificateArgs,
    DnsZone,
    DnsZoneArgs,
    EntryRecord,
    EntryRecordArgs,
    HealthCheckSettings,
    RecordRole,
    alb_hosted_zone_id,
    route53_home_region,
)
from components.edge.targets import ALB_HOSTED_ZONE_IDS
from components.identity import KEY_PURPOSES, Identity, IdentityArgs, KeyPurpose
from components.migrations import DatabaseMigrations, DatabaseMigrationsArgs
from components.network import Network, NetworkArgs
from components.observability import Observability, ObservabilityArgs
from components.observability.alarm_catalog import DatabaseFacts
from components.observability.alarms import Alarms, AlarmsArgs, ApiWatch, ReplicationWatch
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
from components.site import Site, database_instances, site_config
from components.storage import DATA_BUCKET_KEYS, Storage, StorageArgs
from config import PROJECT, StackConfig, StackConfigError
from lib.aws import AwsContext
from lib.tagging import component_tags, tagging_transformation


def resolve_availability_zones(config: StackConfig, region: str | None = None) -> tuple[str, ...]:
    """The AZs to use in `region` (default the primary): those the stack names (primary region only), else the
    first `az_count` default (non opt-in) AZs of the region.

    Called before `Platform` declares anything, so it asks through the default provider (a lookup, not a resource),
    naming the region: a stack naming an AZ its region does not offer, or more AZs than a region has, stops with a
    `StackConfigError` before a single resource exists.
    """
    region = region or config.region
    settings, source = config.network, f"Pulumi.{config.stack}.yaml"
    offered = sorted(
        aws.get_availability_zones(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            region=region,
        ).names
    )
    if settings.availability_zones and region == config.region:
        unknown = [az for az in settings.availability_zones if az not in offered]
        if unknown:
            raise StackConfigError(
                [
                    f"{source}: ai-platform:network.availability_zones: {', '.join(unknown)} not offered by "
                    f"{region}; allowed: {settings.az_count} of {', '.join(offered)}"
                ]
            )
        return settings.availability_zones
    if len(offered) < settings.az_count:
        raise StackConfigError(
            [
                f"{source}: ai-platform:network.az_count: {settings.az_count} AZs asked but {region} offers "
                f"{len(offered)}; allowed: 2 to {len(offered)}"
            ]
        )
    return tuple(offered[: settings.az_count])


def lookup_aws_context(region: str, provider: aws.Provider) -> AwsContext:
    """Account id, partition and DNS suffix of the deployment target (two read-only lookups, once per run)."""
    invoke = pulumi.InvokeOptions(provider=provider)
    identity = aws.get_caller_identity(opts=invoke)
    partition = aws.get_partition(opts=invoke)
    return AwsContext(
        account_id=identity.account_id, partition=partition.partition, region=region,
        dns_suffix=partition.dns_suffix,
    )  # fmt: skip


def secret_kubeconfig(cluster: Cluster) -> pulumi.Output[str]:
    """A cluster's kubeconfig as a secret output: it grants cluster access."""
    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(cluster.kubeconfig)
    return kubeconfig


class Platform(PlatformComponent):
    """The whole platform of one stack: the primary site, and with disaster recovery the DR region's side."""

    area = "platform"

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        # Checked before anything is declared: an AZ the region does not offer stops the run with nothing created.
        availability_zones = resolve_availability_zones(config)
        standby = config.dr.strategy == "warm-standby"
        dr_zones = resolve_availability_zones(config, config.dr.region) if standby else ()
        # The tagging transformation sits on the root component, so every descendant inherits it.
        tagging = pulumi.ResourceOptions(transformations=[tagging_transformation(config.mandatory_tags())])
        super().__init__(name, pulumi.ResourceOptions.merge(opts, tagging))
        self.config = config

        # Providers: the primary region's, and the DR region's (every component of the DR side gets it passed in).
        self.aws_provider = aws.Provider(f"{name}-aws", region=config.region, opts=self.child_opts())
        self.aws_ctx = lookup_aws_context(config.region, self.aws_provider)
        # The stack owning the account's security services also owns the trail: its key and its bucket's access
        # logs are prepared by the identity and storage layers, before the trail exists.
        self.owns_account_security = config.security.manage_account_security
        active_primary = config.active_region == config.region
        self.primary = Site(
            "primary", name, site_config(config, key="primary", active=active_primary), active_primary,
            self.aws_provider, self.aws_ctx, availability_zones,
        )  # fmt: skip
        self.dr_site: Site | None = None
        if config.dr.strategy != "none":
            dr_provider = aws.Provider(f"{name}-dr-aws", region=config.dr.region, opts=self.child_opts())
            self.dr_site = Site(
                "dr", f"{name}-dr", site_config(config, key="dr", active=not active_primary), not active_primary,
                dr_provider, lookup_aws_context(config.dr.region, dr_provider), dr_zones,
            )  # fmt: skip

        self._foundation(self.primary)
        self._observability(self.primary)
        if self.dr_site is not None:
            if standby:
                self._foundation(self.dr_site)
                self._observability(self.dr_site)
            else:  # backup-restore: only the keys of the copies the DR region holds
                self.dr_site.identity = self._identity(self.dr_site, purposes=("storage", "backup"))
        self._data_layer(name, config)
        self.app_secrets: ApplicationSecrets | None = None
        self._dns(name, config)
        sites = [self.primary, self.dr_site] if standby and self.dr_site else [self.primary]
        for site in sites:
            self._workload(site)
        for site in sites:
            self._entry(site)
        self._remediation(name, config)
        for site in sites:
            self._alarms(site)
        self._operations(name, config)
        self._security(name, config)

        self.register_outputs(self.exports())

    def _identity(self, site: Site, purposes: tuple[KeyPurpose, ...] = KEY_PURPOSES) -> Identity:
        """A site's keys; the primary site of the stack owning the account's trail also holds the trail's key."""
        owns_trail = site.key == "primary" and self.owns_account_security
        return Identity(
            f"{site.name}-identity",
            IdentityArgs(
                config=site.config.identity,
                aws=site.aws_ctx,
                purposes=purposes,
                audit_trail_arn=trail_arn(site.config.stack, site.aws_ctx) if owns_trail else None,
            ),
            site.aws_opts(self),
        )

    def _foundation(self, site: Site) -> None:
        """Keys, the network, the EKS cluster with its Kubernetes provider, and the cluster's add-ons of a site."""
        name, config = site.name, site.config
        site.identity = self._identity(site)
        site.network = Network(
            f"{name}-network",
            NetworkArgs(
                config=config.network,
                availability_zones=site.availability_zones,
                logs_kms_key_arn=site.identity.key_arns["logs"],
                aws=site.aws_ctx,
            ),
            site.aws_opts(self),
        )
        site.cluster = Cluster(
            f"{name}-cluster",
            ClusterArgs(
                config=config.cluster,
                cluster_name=site.cluster_name,
                vpc_id=site.network.vpc_id,
                private_subnet_ids=site.network.private_subnet_ids,
                secrets_kms_key_arn=site.identity.key_arns["eks"],
                logs_kms_key_arn=site.identity.key_arns["logs"],
                aws=site.aws_ctx,
                node_tags=component_tags(config.mandatory_tags(), Cluster.area),
            ),
            site.aws_opts(self),
        )
        # Every Kubernetes object (add-ons, workload) goes through this provider, built from the cluster's
        # kubeconfig (which authenticates with `aws eks get-token`); server-side apply detects field conflicts.
        site.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=site.cluster.kubeconfig,
            enable_server_side_apply=True,
            delete_unreachable=False,
            opts=self.child_opts(),
        )
        site.addons = Addons(
            f"{name}-addons",
            AddonsArgs(
                config=config.addons,
                cluster_name=site.cluster_name,
                oidc_provider_arn=site.cluster.oidc_provider_arn,
                oidc_issuer=site.cluster.oidc_issuer,
                vpc_id=site.network.vpc_id,
                private_subnet_ids=site.network.private_subnet_ids,
                node_security_group_id=site.cluster.node_security_group_id,
                imds_hop_limit=config.cluster.imds_hop_limit,
                secrets_path_prefix=f"{PROJECT}/{config.stack}/",
                kubernetes_version=site.cluster.kubernetes_version,
                node_tags=component_tags(config.mandatory_tags(), Addons.area),
                aws=site.aws_ctx,
                maintenance=config.maintenance,
            ),
            site.k8s_opts(self, depends_on=[site.cluster]),
        )

    def _observability(self, site: Site) -> None:
        """Metrics, alert rules and routing, logs and traces in a site's cluster, before the workload it watches:
        the release analyses of the workload query this Prometheus."""
        config = site.config
        if config.observability.enabled:
            site.observability = Observability(
                f"{site.name}-observability",
                ObservabilityArgs(
                    config=config.observability,
                    stack=config.stack,
                    cluster_name=site.cluster_name,
                    kubernetes_version=site.cluster.kubernetes_version,
                    oidc_provider_arn=site.cluster.oidc_provider_arn,
                    oidc_issuer=site.cluster.oidc_issuer,
                    logs_kms_key_arn=site.identity.key_arns["logs"],
                    secrets_path_prefix=site.addons.secrets_path_prefix,
                    cluster_secret_store_name=site.addons.cluster_secret_store_name,
                    storage_class=site.addons.storage_class_name,
                    aws=site.aws_ctx,
                    secrets_ready=site.addons.secrets_ready,
                    api=config.api,
                ),
                site.k8s_opts(self, depends_on=[site.cluster]),
            )

    def _data_layer(self, name: str, config: StackConfig) -> None:
        """Buckets first (backups and replication cover them), then the databases (the primary region's cluster and,
        with warm standby, the Aurora Global secondary) and the schema migrations on the active site, then disaster
        recovery (DR vault, replication) and the backup plan copying into the DR vault."""
        primary, dr = self.primary, self.dr_site
        primary.storage = self._storage(primary)
        if dr is not None:
            dr.storage = self._storage(dr)
        standby = dr is not None and config.dr.strategy == "warm-standby"
        global_id = f"{PROJECT}-{config.stack}"
        replicas = {dr.aws_ctx.region: dr.identity.key_arns["database"]} if standby and dr else {}
        primary.database = self._database(
            primary, GlobalDatabase(global_id, secret_replicas=replicas) if standby else None
        )
        if standby and dr is not None:
            dr.database = self._database(
                dr,
                GlobalDatabase(global_id, member_of=primary.database.global_cluster_identifier),
                # A secondary joins once the global cluster and the primary's writer exist.
                depends_on=[*primary.database.writer_ready],
            )
        active = primary if primary.active or dr is None else dr
        self._migrations(active, primary.database)
        self.dr: DisasterRecovery | None = self._disaster_recovery(name, config, dr) if dr else None
        self.backup = Backup(
            f"{name}-backup",
            BackupArgs(
                config=config.backup,
                kms_key_arn=primary.identity.key_arns["backup"],
                protected_resources={"database": primary.database.cluster_arn, **primary.storage.data_bucket_arns},
                # The security key: the IP-blocking table joins the plan (components/remediation).
                source_kms_key_arns=[
                    primary.identity.key_arns["storage"],
                    primary.identity.key_arns["database"],
                    primary.identity.key_arns["security"],
                ],
                aws=self.aws_ctx,
                # Cross-region copies of the daily, weekly and monthly points into the DR vault.
                copy_destination_vault_arn=self.dr.vault_arn if self.dr else None,
                copy_destination_kms_key_arn=dr.identity.key_arns["backup"] if dr else None,
                copy_retention_days=config.dr.copy_retention_days if self.dr else None,
            ),
            primary.aws_opts(self),
        )

    def _storage(self, site: Site) -> Storage:
        """A site's buckets; on the DR site they are the replicas of the primary's (same protections, DR key)."""
        return Storage(
            f"{site.name}-storage",
            StorageArgs(
                # The DR site's buckets are the replicas: protected as `dr.protect` says.
                config=site.config.storage
                if site.key == "primary"
                else site.config.storage.model_copy(update={"protect": site.config.dr.protect}),
                kms_key_arn=site.identity.key_arns["storage"],
                bucket_name_prefix=f"{PROJECT}-{site.config.stack}",
                aws=site.aws_ctx,
                log_source_bucket_arns=(
                    (audit_bucket_arn(site.config.stack, site.aws_ctx),)
                    if site.key == "primary" and self.owns_account_security
                    else ()
                ),
            ),
            site.aws_opts(self),
        )

    def _database(
        self, site: Site, membership: GlobalDatabase | None, depends_on: list[pulumi.Resource] | None = None
    ) -> Database:
        """A site's Aurora cluster: regional, or a member of the stack's Aurora Global Database."""
        config = site.config
        settings = config.database
        if site.key == "dr":
            settings = settings.model_copy(update={"protect": config.dr.protect})
        return Database(
            f"{site.name}-database",
            DatabaseArgs(
                config=settings,
                vpc_id=site.network.vpc_id,
                subnet_ids=site.network.database_subnet_ids,
                availability_zones=tuple(site.network.availability_zones),
                # Pods use their node's security group (VPC CNI, no per-pod groups), and every node (managed groups
                # through their launch templates, Karpenter through its EC2NodeClass) has exactly the node group's
                # security group. The control plane never talks to the database: nothing else reaches 5432.
                client_security_groups={"nodes": site.cluster.node_security_group_id},
                kms_key_arn=site.identity.key_arns["database"],
                logs_kms_key_arn=site.identity.key_arns["logs"],
                aws=site.aws_ctx,
                instance_count=database_instances(config, active=site.active) if membership else None,
                global_database=membership,
            ),
            site.aws_opts(self, depends_on=depends_on),
        )

    def _migrations(self, site: Site, primary_database: Database) -> None:
        """Schema as code on the active site: the SQL migrations run in-cluster against its writer with the master
        secret (on the DR site, the secret's replica), synced by external-secrets (skipped when external-secrets is
        off: nothing could deliver the credentials)."""
        if site.addons.cluster_secret_store_name is None:
            return
        secret_arn = primary_database.master_user_secret_arn
        if site.key == "dr":
            secret_arn = primary_database.master_user_secret_replica_arns[site.aws_ctx.region]
        if secret_arn is None:
            raise ValueError("the primary database reports no master secret")
        database = site.database
        site.migrations = DatabaseMigrations(
            f"{site.name}-db-migrations",
            DatabaseMigrationsArgs(
                master_user_secret_arn=secret_arn,
                host=database.endpoint,
                port=database.port,
                database_name=database.database_name,
                database_cidrs=site.network.database_subnet_cidrs,
                secret_kms_key_arn=site.identity.key_arns["database"],
                oidc_provider_arn=site.cluster.oidc_provider_arn,
                oidc_issuer=site.cluster.oidc_issuer,
                aws=site.aws_ctx,
                kubernetes_version=site.cluster.kubernetes_version,
                secrets_ready=site.addons.secrets_ready,
            ),
            # The Job needs a running writer instance (not the readers, not the other add-ons) and somewhere to
            # run: the cluster's nodes and DNS, and the workload capacity (Karpenter's pool).
            site.k8s_opts(self, depends_on=[*database.writer_ready, site.cluster, *site.addons.capacity_ready]),
        )

    def _disaster_recovery(self, name: str, config: StackConfig, dr: Site) -> DisasterRecovery:
        """The DR vault, S3 replication of the data buckets into the DR site's replicas, ECR replication."""
        primary = self.primary
        source, replica = primary.storage, dr.storage
        no_standby_workload = config.dr.strategy != "warm-standby"
        return DisasterRecovery(
            f"{name}-dr",
            DisasterRecoveryArgs(
                config=config.dr,
                backup=config.backup,
                stack=config.stack,
                source=primary.aws_ctx,
                replica=dr.aws_ctx,
                source_provider=primary.provider,
                buckets={
                    key: ReplicatedBucket(source_arn=source.bucket_arns[key], replica_arn=replica.bucket_arns[key])
                    for key in DATA_BUCKET_KEYS
                },
                source_bucket_names={key: source.bucket_names[key] for key in DATA_BUCKET_KEYS},
                source_kms_key_arn=primary.identity.key_arns["storage"],
                replica_kms_key_arn=dr.identity.key_arns["storage"],
                vault_kms_key_arn=dr.identity.key_arns["backup"],
                replica_repository=config.api.ecr if config.api is not None and no_standby_workload else None,
                replicate_images=config.api is not None,
            ),
            # S3 refuses a replication rule until both buckets are versioned.
            dr.aws_opts(self, depends_on=[*source.versioning_ready, *replica.versioning_ready]),
        )

    def _workload(self, site: Site) -> None:
        """A site's ai-api workload, after what it needs: the cluster's add-ons (ALB controller, Argo Rollouts), the
        buckets, the database and the observability stack. The active site's pods use the writer endpoint, the
        standby's the reader endpoint of its (secondary) cluster. A stack without `ai-platform:api` runs the
        platform alone."""
        config = site.config
        if config.api is None:
            return
        if site.key == "primary":
            self._application_secrets(site)
        database, storage, observability = site.database, site.storage, site.observability
        migrations = [s.migrations for s in (self.primary, self.dr_site) if s is not None and s.migrations]
        site.ai_api = AiApi(
            f"{site.name}-ai-api",
            AiApiArgs(
                config=config.api,
                stack=config.stack,
                aws=site.aws_ctx,
                kubernetes_version=site.cluster.kubernetes_version,
                oidc_provider_arn=site.cluster.oidc_provider_arn,
                oidc_issuer=site.cluster.oidc_issuer,
                model_bucket_name=storage.bucket_names["models"],
                model_bucket_arn=storage.bucket_arns["models"],
                storage_kms_key_arn=site.identity.key_arns["storage"],
                logs_kms_key_arn=site.identity.key_arns["logs"],
                logs_bucket_name=storage.logs_bucket_name,
                access_log_prefix=storage.alb_access_log_prefix,
                certificate_arn=self._api_certificate_arn(site),
                # A failover record's Route 53 health check names the ALB itself: its path is routed for any host.
                direct_health_path=config.dr.dns.health_check_path if self._failover(config) else None,
                # IAM database authentication as `ai_app`: no master secret, no database key for the workload.
                database_cluster_resource_id=database.cluster_resource_id,
                database_endpoint=database.endpoint if site.active else database.reader_endpoint,
                database_port=database.port,
                database_name=database.database_name,
                load_balancer_cidrs=site.network.public_subnet_cidrs,
                database_cidrs=site.network.database_subnet_cidrs,
                argo_rollouts_enabled=site.addons.argo_rollouts_enabled,
                alb_tags=component_tags(config.mandatory_tags(), AiApi.area),
                otlp_endpoint=observability.otlp_endpoint if observability else None,
                # Each object waits for what it needs: the add-ons whose CRDs or webhooks it uses, the buckets'
                # policies (the ALB refuses an access-log bucket that does not admit Elastic Load Balancing yet),
                # nodes, and the schema (only the pods: they never start against a database without tables; the
                # standby's schema replicates from the active site's).
                rollouts_ready=site.addons.rollouts_ready,
                load_balancer_ready=site.addons.load_balancer_ready,
                access_logs_ready=[storage],
                capacity_ready=[site.cluster, *site.addons.capacity_ready],
                schema_ready=migrations,
                vpa_ready=site.addons.vpa_ready,
                # The release analyses query the observability stack's Prometheus, which scrapes the pods (the
                # ServiceMonitor waits for its CRDs; the network policy admits it from its namespace).
                prometheus_address=observability.prometheus_address if observability else None,
                monitoring_namespace=observability.namespace if observability else None,
                monitoring_ready=observability.monitoring_ready if observability else (),
                # Application secrets sync once the controller runs and each secret has its first value.
                cluster_secret_store_name=site.addons.cluster_secret_store_name,
                secrets_ready=[*site.addons.secrets_ready, *([self.app_secrets] if self.app_secrets else [])],
            ),
            site.k8s_opts(self),
        )

    def _dns(self, name: str, config: StackConfig) -> None:
        """The public hosted zone with its query logs, and the primary site's ai-api certificate issued through it
        (unless `api.certificate_arn` names one): both need nothing of the cluster and start at once."""
        self.dns_zone: DnsZone | None = None
        self.certificates: dict[str, DnsCertificate] = {}
        if config.dns is None:
            return
        regions = [site.aws_ctx.region for site in (self.primary, self.dr_site) if site is not None]
        unknown = [region for region in regions if config.api is not None and region not in ALB_HOSTED_ZONE_IDS]
        if unknown:
            raise StackConfigError(
                [
                    f"Pulumi.{config.stack}.yaml: aws:region: {', '.join(unknown)} has no known ALB hosted zone id for "
                    f"the ai-api record of ai-platform:dns; allowed: {', '.join(sorted(ALB_HOSTED_ZONE_IDS))}"
                ]
            )
        primary = self.primary
        in_logs_region = config.region == route53_home_region(self.aws_ctx.partition)
        self.dns_zone = DnsZone(
            f"{name}-dns",
            DnsZoneArgs(
                config=config.dns,
                stack=config.stack,
                aws=self.aws_ctx,
                logs_kms_key_arn=primary.identity.key_arns["logs"] if in_logs_region else None,
            ),
            primary.aws_opts(self),
        )

    def _api_certificate_arn(self, site: Site) -> pulumi.Input[str]:
        """The certificate a site's ALB serves: the configured one (`api.certificate_arn`, on the DR site
        `dr.standby.certificate_arn`), else one issued through the zone in the site's region (ACM certificates are
        regional; both validate through the same CNAME)."""
        api = site.config.api
        assert api is not None
        if api.certificate_arn is not None:
            return api.certificate_arn
        if site.key not in self.certificates:
            if self.dns_zone is None or self.config.dns is None:
                raise StackConfigError([f"Pulumi.{self.config.stack}.yaml: ai-platform:api: no certificate source"])
            primary = self.certificates.get("primary")
            certificate = DnsCertificate(
                f"{site.name}-api-certificate",
                DnsCertificateArgs(
                    domain_name=api.domain_name,
                    zone_id=self.dns_zone.zone_id,
                    key_algorithm=self.config.dns.certificate.key_algorithm,
                    # The DR region's certificate validates through the records the primary's declared.
                    validation_record_fqdns=primary.validation_record_fqdns if primary else None,
                ),
                site.aws_opts(self),
            )
            self.certificates[site.key] = certificate
        return self.certificates[site.key].certificate_arn

    @staticmethod
    def _failover(config: StackConfig) -> bool:
        """Whether the ai-api's name is a failover pair (DR warm-standby with a zone) rather than one alias."""
        return config.dns is not None and config.dr.strategy == "warm-standby"

    def _application_secrets(self, site: Site) -> None:
        """The ai-api's application secrets (`api.secrets`) with their rotation, in the primary region, replicated
        into the DR region when a standby runs there."""
        config = site.config
        if config.api is None or not config.api.secrets:
            return
        standby = self.dr_site if config.dr.strategy == "warm-standby" else None
        self.app_secrets = ApplicationSecrets(
            f"{site.name}-app-secrets",
            ApplicationSecretsArgs(
                secrets=config.api.secrets,
                rotation=config.security.rotation,
                stack=config.stack,
                aws=site.aws_ctx,
                kms_key_arn=site.identity.key_arns["security"],
                alerts_kms_key_arn=site.identity.key_arns["alerts"],
                logs_kms_key_arn=site.identity.key_arns["logs"],
                replica_kms_key_arns=(
                    {standby.aws_ctx.region: standby.identity.key_arns["security"]} if standby is not None else {}
                ),
            ),
            site.aws_opts(self),
        )

    def _entry(self, site: Site) -> None:
        """The ai-api's public name pointing at a site's ALB (the Ingress's status): an alias, or with DR
        warm-standby a failover pair, the active site's record PRIMARY (with its health check) and the other's
        SECONDARY."""
        site.entry = None
        config = site.config
        if self.dns_zone is None or site.ai_api is None or config.api is None:
            return
        failover = self._failover(config)
        dns = config.dr.dns
        role: RecordRole = ("primary" if site.active else "secondary") if failover else "simple"
        site.entry = EntryRecord(
            f"{site.name}-api-entry",
            EntryRecordArgs(
                zone_id=self.dns_zone.zone_id,
                record_name=config.api.domain_name,
                target_hostname=site.ai_api.load_balancer_hostname,
                target_zone_id=alb_hosted_zone_id(site.aws_ctx.region),
                role=role,
                ttl_seconds=dns.record_ttl_seconds,
                health_check=(
                    HealthCheckSettings(
                        path=dns.health_check_path,
                        interval_seconds=dns.health_check_interval_seconds,
                        failure_threshold=dns.health_check_failure_threshold,
                    )
                    if role == "primary"
                    else None
                ),
            ),
            site.aws_opts(self),
        )

    def _remediation(self, name: str, config: StackConfig) -> None:
        """Automated IP blocking at the primary ai-api's WAF, after the ai-api (it maintains the web ACL's
        blocklist): needs the workload's edge, so a stack without `ai-platform:api` has none."""
        self.ip_blocking: IpBlocking | None = None
        primary = self.primary
        if primary.ai_api is not None and config.security.ip_blocking.enabled:
            self.ip_blocking = IpBlocking(
                f"{name}-ip-blocking",
                IpBlockingArgs(
                    config=config.security.ip_blocking,
                    stack=config.stack,
                    aws=self.aws_ctx,
                    ip_set_arn=primary.ai_api.blocklist_ip_set_arn,
                    ip_set_id=primary.ai_api.blocklist_ip_set_id,
                    ip_set_name=primary.ai_api.blocklist_ip_set_name,
                    table_kms_key_arn=primary.identity.key_arns["security"],
                    alerts_kms_key_arn=primary.identity.key_arns["alerts"],
                    logs_kms_key_arn=primary.identity.key_arns["logs"],
                    backup_plan_id=self.backup.plan_id,
                    backup_role_arn=self.backup.role_arn,
                ),
                primary.aws_opts(self),
            )

    def _alarms(self, site: Site) -> None:
        """A site's CloudWatch alarms and dashboard, last, from the outputs of what they watch; alerts go to an SNS
        topic per severity of the site's region (an alarm can only notify a topic of its own region). The primary
        site watches the S3 replication (its metrics are the source buckets'); the site that is not active watches
        the Aurora Global replication lag (reported by the secondary cluster)."""
        config = site.config
        if not config.observability.enabled:
            return
        database, ai_api = site.database, site.ai_api
        vault_name = self.backup.vault_name if site.key == "primary" or self.dr is None else self.dr.vault_name
        replication = None
        if site.key == "primary" and self.dr is not None and self.dr_site is not None:
            replication = ReplicationWatch(
                source_bucket_names={k: site.storage.bucket_names[k] for k in DATA_BUCKET_KEYS},
                replica_bucket_names={k: self.dr_site.storage.bucket_names[k] for k in DATA_BUCKET_KEYS},
                rule_ids=self.dr.replication_rule_ids,
            )
        standby = config.dr.strategy == "warm-standby"
        site.alarms = Alarms(
            f"{site.name}-alarms",
            AlarmsArgs(
                config=config.observability,
                stack=config.stack,
                name_suffix="" if site.key == "primary" else "-dr",
                aws=site.aws_ctx,
                kms_key_arn=site.identity.key_arns["alerts"],
                database=DatabaseFacts(
                    cluster_identifier=database.cluster_identifier,
                    instance_class=database.instance_class,
                    serverless_max_capacity=database.serverless_max_capacity,
                    reader_count=database.reader_count,
                    max_connections=config.observability.cloudwatch.database_max_connections,
                    instance_count=database.instance_count,
                ),
                backup_vault_name=vault_name,
                interruption_queue_name=site.addons.karpenter_interruption_queue_name,
                api=(
                    ApiWatch(
                        web_acl_name=ai_api.web_acl_name,
                        load_balancer_name=ai_api.load_balancer_name,
                        certificate_arn=ai_api.certificate_arn,
                        health_check_id=site.entry.health_check_id if site.entry else None,
                    )
                    if ai_api
                    else None
                ),
                replication=replication,
                global_secondary=database.cluster_identifier if standby and not site.active else None,
                drill_stack=config.stack if config.dr.strategy != "none" and site.active else None,
            ),
            site.aws_opts(self),
        )

    def _operations(self, name: str, config: StackConfig) -> None:
        """The stack's budget and cost-anomaly alerts (into the primary site's alert topics), cost-allocation tags,
        and the notice users get before each maintenance window."""
        primary = self.primary
        alarms = primary.alarms
        self.operations = Operations(
            f"{name}-operations",
            OperationsArgs(
                stack=config.stack,
                cost=config.cost,
                maintenance=config.maintenance,
                cost_allocation_tag_keys=cost_allocation_tag_keys(config.mandatory_tags()),
                alert_topics=(
                    CostAlertTopics(info=alarms.topic_arns["info"], warning=alarms.topic_arns["warning"])
                    if alarms
                    else None
                ),
                kms_key_arn=primary.identity.key_arns["alerts"],
                aws=self.aws_ctx,
            ),
            primary.aws_opts(self),
        )

    def _security(self, name: str, config: StackConfig) -> None:
        """The account's audit trail and threat detection, only in the stack that owns them
        (`security.manage_account_security`); findings go to the primary site's alert topics (config requires
        observability)."""
        self.audit_trail: AuditTrail | None = None
        self.threat_detection: ThreatDetection | None = None
        primary = self.primary
        if not self.owns_account_security or primary.alarms is None:
            return
        security = config.security
        self.audit_trail = AuditTrail(
            f"{name}-audit",
            AuditTrailArgs(
                config=security.cloudtrail,
                stack=config.stack,
                aws=self.aws_ctx,
                audit_kms_key_arn=primary.identity.key_arns["audit"],
                logs_kms_key_arn=primary.identity.key_arns["logs"],
                logs_bucket_name=primary.storage.logs_bucket_name,
                data_bucket_arns=primary.storage.data_bucket_arns,
            ),
            # The logs bucket's policy must admit the trail bucket's access logs first.
            primary.aws_opts(self, depends_on=[primary.storage]),
        )
        self.threat_detection = ThreatDetection(
            f"{name}-detection",
            ThreatDetectionArgs(
                guardduty=security.guardduty,
                security_hub=security.security_hub,
                inspector=security.inspector,
                stack=config.stack,
                aws=self.aws_ctx,
                topic_arns=primary.alarms.topic_arns,
            ),
            # The alert topics' policies admit this stack's EventBridge rules before a finding is delivered.
            primary.aws_opts(self, depends_on=[primary.alarms]),
        )

    def exports(self) -> dict[str, pulumi.Input[object]]:
        """What operators need from a stack (`pulumi stack output`), as listed in `OUTPUTS`; secrets stay secret."""
        primary = self.primary
        network, cluster = primary.network, primary.cluster
        return {
            "environment": self.config.environment,
            "region": self.config.region,
            "vpc_id": network.vpc_id,
            "vpc_cidr": network.vpc_cidr,
            "availability_zones": network.availability_zones,
            "public_subnet_ids": network.public_subnet_ids,
            "private_subnet_ids": network.private_subnet_ids,
            "database_subnet_ids": network.database_subnet_ids,
            "kms_key_arns": primary.identity.key_arns,
            "cluster_name": cluster.cluster_name,
            "cluster_endpoint": cluster.endpoint,
            "kubernetes_version": cluster.kubernetes_version,
            "oidc_provider_arn": cluster.oidc_provider_arn,
            # The kubeconfig grants cluster access: exported only as a secret.
            "kubeconfig": secret_kubeconfig(cluster),
            "secrets_path_prefix": primary.addons.secrets_path_prefix,
            **self._data_exports(),
            **self._dr_exports(),
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
        database, migrations, alarms = self.primary.database, self.primary.migrations, self.primary.alarms
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
            "database_migrations_job": migrations.job_name if migrations else None,
            "bucket_names": self.primary.storage.bucket_names,
            "backup_vault_name": self.backup.vault_name,
            "backup_role_arn": self.backup.role_arn,
            "backup_notifications_topic_arn": self.backup.notifications_topic_arn,
            "alert_topic_arns": dict(alarms.topic_arns) if alarms else None,
            "budget_name": self.operations.budget_name,
            "maintenance_notice_topic_arn": self.operations.notice_topic_arn,
        }

    def _dr_exports(self) -> dict[str, pulumi.Input[object]]:
        """Where the DR side is and how to reach it (what `python -m ops dr` reads); null without DR."""
        config, dr, site = self.config, self.dr, self.dr_site
        standby = site if site is not None and config.dr.strategy == "warm-standby" else None
        database = standby.database if standby else None
        return {
            "dr_strategy": config.dr.strategy,
            "dr_region": config.dr.region if dr else None,
            "active_region": config.active_region,
            "dr_backup_vault_name": dr.vault_name if dr else None,
            "dr_bucket_names": site.storage.bucket_names if site and dr else None,
            "dr_replication_role_arn": dr.replication_role_arn if dr else None,
            "database_global_cluster_identifier": self.primary.database.global_cluster_identifier,
            "dr_database_cluster_identifier": database.cluster_identifier if database else None,
            "dr_database_endpoint": database.endpoint if database else None,
            "dr_database_reader_endpoint": database.reader_endpoint if database else None,
            "dr_cluster_name": standby.cluster.cluster_name if standby else None,
            "dr_kubeconfig": secret_kubeconfig(standby.cluster) if standby else None,
            "dr_ai_api_load_balancer_hostname": standby.ai_api.load_balancer_hostname
            if standby and standby.ai_api
            else None,
        }

    def _ai_api_exports(self) -> dict[str, pulumi.Input[object]]:
        """The workload's address, image repository and edge security ARNs (the WAF blocklist is for automation)."""
        ai_api = self.primary.ai_api
        if ai_api is None:
            return {}
        return {
            "ai_api_url": ai_api.url,
            "ai_api_namespace": ai_api.namespace_name,
            "ai_api_repository_url": ai_api.repository_url,
            "ai_api_role_arn": ai_api.role_arn,
            "waf_web_acl_arn": ai_api.web_acl_arn,
            "waf_blocklist_ip_set_arn": ai_api.blocklist_ip_set_arn,
            "ai_api_certificate_arn": ai_api.certificate_arn,
            "ai_api_load_balancer_hostname": ai_api.load_balancer_hostname,
            "ip_blocking_function_name": self.ip_blocking.function_name if self.ip_blocking else None,
            "ip_blocking_table_name": self.ip_blocking.table_name if self.ip_blocking else None,
        }


def build(config: StackConfig) -> Platform:
    """Declare the platform for a validated config and export its outputs (the whole body of `__main__.py`)."""
    platform = Platform(config.stack, config)
    for key, value in platform.exports().items():
        pulumi.export(key, value)
    return platform
