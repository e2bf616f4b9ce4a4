"""Database: Aurora PostgreSQL with pgvector, the store of the platform's embeddings.

One cluster in the database subnets, reachable on 5432 only from the security groups the platform names (the EKS
cluster's nodes and pods), TLS enforced by the server (`rds.force_ssl`), IAM database authentication on. Storage,
Performance Insights and the master-user secret are encrypted with the platform's database key. Nobody ever
chooses the master password: RDS generates it into Secrets Manager (`manage_master_user_password`) and rotates it on
the configured schedule, so it never appears in config, code, state inputs or outputs.

Capacity is Aurora Serverless v2 (`db.serverless`, an ACU range; dev may scale to 0 and pause) or a provisioned
instance class. The first instance is the writer; readers follow it, spread round-robin over the AZs, so with
enough AZs every instance lives in a different one and a failover target always exists outside the writer's AZ.

Aurora Global Database (disaster recovery, `DatabaseArgs.global_database`): the same component builds the primary
member, which declares the `GlobalCluster` from its own cluster, and the secondary in the DR region, which joins it
(no master user or database of its own: both replicate). RDS cannot manage the master password of a global member
(Aurora user guide, "Limitations for Secrets Manager integration"), so a global member's master password is a
generated one this component stores in its own Secrets Manager secret, replicated into the DR region with the DR
side's key, and passes to RDS write-only (`master_password_wo`, never in the cluster's state).

Nothing is lost: automated backups (point-in-time recovery) for `backup_retention_days`, kept after deletion;
deletion protection, a named final snapshot and Pulumi `protect` outside dev (all from config); PostgreSQL logs
exported to KMS-encrypted CloudWatch log groups this component owns (so their retention is set, not unlimited).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import PlatformComponent
from config import PROJECT, DatabaseConfig
from lib.aws import AwsContext
from lib.iam import service_trust_policy

ENGINE = "aurora-postgresql"
PORT = 5432
# The RDS CA every instance's server certificate chains to (RSA 2048, valid to 2061; the AWS default since 2024).
CA_CERTIFICATE = "rds-ca-rsa2048-g1"


def cluster_parameters(config: DatabaseConfig) -> list[aws.rds.ClusterParameterGroupParameterArgsDict]:
    """Cluster parameters: TLS enforced (1.2+), pg_stat_statements loaded, and logging an operator can act on
    (slow statements, connections, lock waits, temp files, long autovacuum runs, DDL)."""
    reboot, now = "pending-reboot", "immediate"
    values = [
        ("rds.force_ssl", "1", reboot),
        ("ssl_min_protocol_version", "TLSv1.2", reboot),
        ("shared_preload_libraries", "pg_stat_statements", reboot),
        ("pg_stat_statements.track", "top", now),
        ("log_min_duration_statement", str(config.slow_query_ms), now),
        ("log_connections", "1", now),
        ("log_disconnections", "1", now),
        ("log_lock_waits", "1", now),
        ("log_temp_files", "10240", now),  # kB: temp files over 10 MB mean work_mem is too small
        ("log_autovacuum_min_duration", "10000", now),  # ms
        ("log_statement", "ddl", now),
    ]
    return [{"name": name, "value": value, "apply_method": method} for name, value, method in values]


def managed_secret_arn(secrets: Sequence[aws.rds.outputs.ClusterMasterUserSecret]) -> str:
    """The ARN of the RDS-managed master user secret, which RDS reports once `manage_master_user_password` is on."""
    arn = secrets[0].secret_arn if secrets else None
    if arn is None:
        raise ValueError("RDS reported no managed master user secret although manage_master_user_password is on")
    return arn


def instance_zones(availability_zones: Sequence[str], instance_count: int) -> dict[str, str]:
    """Instance key -> AZ: `instance-1` (the writer) in the first AZ, each reader in the next one round-robin."""
    return {f"instance-{i + 1}": availability_zones[i % len(availability_zones)] for i in range(instance_count)}


# The master secret of a global member is rotated by this program (replace the RandomPassword, `pulumi up`), not by
# a rotation Lambda: RDS cannot rotate it for a global database and a Lambda would be a second writer of it.
ROTATION_TAG = {"ai-platform/rotation": "external"}
# Bumping it rotates a global member's master password: a new RandomPassword (its keeper), sent to RDS (the
# write-only version) and written to the secret (replicated) on the next `pulumi up`.
MASTER_PASSWORD_VERSION = 1


@dataclass(frozen=True)
class GlobalDatabase:
    """Membership of the cluster in an Aurora Global Database.

    identifier: the global cluster's identifier (`ai-platform-<stack>`).
    member_of: None for the primary member, which declares the global cluster from its own cluster; else the global
        cluster's identifier (the primary's `global_cluster_identifier` output) for a secondary, which joins it.
    secret_replicas: region -> KMS key ARN of each region that receives a replica of the master secret (primary
        only: the DR side runs the migrations with it after a failover).
    """

    identifier: str
    member_of: pulumi.Input[str] | None = None
    secret_replicas: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class DatabaseArgs:
    """Inputs of `Database`.

    config: the `ai-platform:database` section.
    vpc_id: the VPC of the database subnets.
    subnet_ids: the database-tier subnets (no route to the internet), one per AZ.
    availability_zones: the AZs of those subnets, in order; instances are spread over them.
    client_security_groups: stable key (e.g. `nodes`) -> security group admitted on 5432; nothing else
        can reach the database.
    kms_key_arn: the platform's database key (storage, Performance Insights, the master-user secret).
    logs_kms_key_arn: the platform's logs key (the exported PostgreSQL log groups).
    aws: account/partition/region, for ARNs and service principals.
    instance_count: instances to run (default None: a writer and `config.reader_count` readers); a secondary or a
        standby-sized member runs fewer, 0 leaves it headless (storage replicated, no compute).
    global_database: membership in an Aurora Global Database (default None: a regional cluster).
    """

    config: DatabaseConfig
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    availability_zones: Sequence[str]
    client_security_groups: Mapping[str, pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    aws: AwsContext
    instance_count: int | None = None
    global_database: GlobalDatabase | None = None


class Database(PlatformComponent):
    """Aurora PostgreSQL cluster (pgvector-ready) with its network, parameters, secret, monitoring and logs."""

    area = "database"
    # The master secret (RDS-managed, or the global primary's own); None on a secondary, which has none.
    master_user_secret_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config = args.config
        identifier = name

        subnet_group = self._network(name, args)

        parameters = aws.rds.ClusterParameterGroup(
            f"{name}-params-pg{config.engine_major}",
            family=f"{ENGINE}{config.engine_major}",
            description=f"{name}: TLS only, pg_stat_statements, operational logging",
            parameters=cluster_parameters(config),
            opts=self.child_opts(),
        )
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{export}",
                name=f"/aws/rds/cluster/{identifier}/{export}",
                retention_in_days=config.log_retention_days,
                kms_key_id=args.logs_kms_key_arn,
                opts=self.child_opts(),
            )
            for export in config.log_exports
        ]

        scaling: aws.rds.ClusterServerlessv2ScalingConfigurationArgsDict | None = (
            {
                "min_capacity": config.serverless_min_capacity,
                "max_capacity": config.serverless_max_capacity,
                "seconds_until_auto_pause": config.auto_pause_after_seconds,
            }
            if config.serverless
            else None
        )
        glob = args.global_database
        secondary = glob is not None and glob.member_of is not None
        self.cluster = aws.rds.Cluster(
            f"{name}-cluster",
            cluster_identifier=identifier,
            engine=ENGINE,
            engine_mode="provisioned",
            engine_version=config.engine_version,
            allow_major_version_upgrade=False,
            **self._credentials(name, args),
            iam_database_authentication_enabled=True,
            port=PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            db_cluster_parameter_group_name=parameters.name,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            serverlessv2_scaling_configuration=scaling,
            backup_retention_period=config.backup_retention_days,
            preferred_backup_window=config.backup_window,
            preferred_maintenance_window=config.maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,  # point-in-time recovery stays possible after a deletion
            deletion_protection=config.deletion_protection,
            skip_final_snapshot=not config.final_snapshot,
            final_snapshot_identifier=f"{identifier}-final" if config.final_snapshot else None,
            enabled_cloudwatch_logs_exports=list(config.log_exports),
            apply_immediately=False,
            global_cluster_identifier=glob.member_of if glob is not None and secondary else None,
            tags={"Name": identifier},
            opts=self.child_opts(
                protect=config.protect,
                depends_on=[*log_groups, *self.waits_for],
                # Minor versions are upgraded by AWS in the maintenance window (auto_minor_version_upgrade);
                # the configured version is the floor the cluster is created with, not something to roll back to.
                # The primary member joins the global cluster it is the source of: that membership is AWS's to
                # report (declaring it would be a cycle), and a switchover or failover moves the writer without a
                # change to either member's inputs.
                ignore_changes=["engineVersion", "globalClusterIdentifier", "replicationSourceIdentifier"]
                if glob is not None
                else ["engineVersion"],
            ),
        )
        self.global_cluster_identifier: pulumi.Output[str] | None = None
        if glob is not None and not secondary:
            self.global_cluster = aws.rds.GlobalCluster(
                f"{name}-global",
                global_cluster_identifier=glob.identifier,
                source_db_cluster_identifier=self.cluster.arn,
                # Removing the global cluster detaches its members; it never deletes their data.
                force_destroy=True,
                deletion_protection=config.deletion_protection,
                opts=self.child_opts(protect=config.protect, ignore_changes=["sourceDbClusterIdentifier"]),
            )
            self.global_cluster_identifier = self.global_cluster.global_cluster_identifier
        if glob is None:
            # The RDS-managed secret (`rds!cluster-...`): RDS rotates it; the schedule is ours.
            self.master_user_secret_arn = self.cluster.master_user_secrets.apply(managed_secret_arn)
            aws.secretsmanager.SecretRotation(
                f"{name}-master-secret-rotation",
                secret_id=self.master_user_secret_arn,
                rotation_rules={"automatically_after_days": config.secret_rotation_days},
                rotate_immediately=False,
                opts=self.child_opts(),
            )

        instance_count = config.reader_count + 1 if args.instance_count is None else args.instance_count
        writer = self._instances(name, args, subnet_group, instance_count)

        # What a client that needs a running database (not the readers) waits for: the writer instance (the first;
        # of a secondary member, the one promotion makes the writer).
        self.writer_ready: tuple[pulumi.Resource, ...] = (writer,) if writer else ()
        self.cluster_identifier = self.cluster.cluster_identifier
        self.cluster_arn = self.cluster.arn
        self.cluster_resource_id = self.cluster.cluster_resource_id
        self.endpoint = self.cluster.endpoint
        self.reader_endpoint = self.cluster.reader_endpoint
        self.port = self.cluster.port
        self.database_name = config.database_name
        self.master_username = config.master_username
        self.security_group_id = self.security_group.id
        # What the CloudWatch alarms size their thresholds from: capacity (class or Serverless v2 range) and readers.
        self.instance_class = config.instance_class
        self.serverless_max_capacity = config.serverless_max_capacity if config.serverless else None
        self.reader_count = max(instance_count - 1, 0)
        self.instance_count = instance_count
        self.register_outputs(
            {
                "cluster_identifier": self.cluster_identifier,
                "cluster_arn": self.cluster_arn,
                "cluster_resource_id": self.cluster_resource_id,
                "endpoint": self.endpoint,
                "reader_endpoint": self.reader_endpoint,
                "port": self.port,
                "database_name": self.database_name,
                "master_username": self.master_username,
                "master_user_secret_arn": self.master_user_secret_arn,
                "security_group_id": self.security_group_id,
                "writer_ready": [resource.urn for resource in self.writer_ready],
                "instance_class": self.instance_class,
                "serverless_max_capacity": self.serverless_max_capacity,
                "reader_count": self.reader_count,
                "instance_count": self.instance_count,
                "global_cluster_identifier": self.global_cluster_identifier,
                "master_user_secret_replica_arns": self.master_user_secret_replica_arns,
            }
        )

    def _network(self, name: str, args: DatabaseArgs) -> aws.rds.SubnetGroup:
        """The database subnets and the security group that admits PostgreSQL from the platform's clients only."""
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            description=f"Database subnets of {name}",
            subnet_ids=list(args.subnet_ids),
            opts=self.child_opts(),
        )
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"PostgreSQL ({PORT}) into {name} from the platform workloads only",
            tags={"Name": f"{name}-sg"},
            opts=self.child_opts(),
        )  # no egress rules: the database never opens connections
        for key, client_sg in args.client_security_groups.items():
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-{key}",
                security_group_id=self.security_group.id,
                referenced_security_group_id=client_sg,
                ip_protocol="tcp",
                from_port=PORT,
                to_port=PORT,
                description=f"PostgreSQL from the {key} security group",
                opts=self.child_opts(),
            )
        return subnet_group

    def _credentials(self, name: str, args: DatabaseArgs) -> dict[str, Any]:
        """The cluster's master user: RDS-managed secret for a regional cluster; a generated password in a secret of
        our own (replicated to the DR region) for a global primary; nothing for a secondary (it replicates)."""
        config, glob = args.config, args.global_database
        self.master_user_secret_arn = None
        self.master_user_secret_replica_arns: dict[str, pulumi.Output[str]] = {}
        if glob is None:
            return {
                "database_name": config.database_name,
                "master_username": config.master_username,
                "manage_master_user_password": True,
                "master_user_secret_kms_key_id": args.kms_key_arn,
            }
        if glob.member_of is not None:
            return {}
        password = random.RandomPassword(
            f"{name}-master-password",
            length=40,
            keepers={"version": str(MASTER_PASSWORD_VERSION)},
            special=False,  # RDS refuses / " @ and spaces; 40 of [A-Za-z0-9] are ~238 bits
            opts=self.child_opts(additional_secret_outputs=["result"]),
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-master-secret",
            # Outside `ai-platform/<stack>/`, the prefix the shared ClusterSecretStore reads: only the migrations'
            # own SecretStore may read it, as with the RDS-managed secret.
            name=f"{PROJECT}-database/{name}/master",
            description=f"Master user of the Aurora global database {glob.identifier} (generated by Pulumi)",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=30,
            replicas=[{"region": region, "kms_key_id": key} for region, key in sorted(glob.secret_replicas.items())],
            tags=ROTATION_TAG,
            opts=self.child_opts(protect=config.protect),
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-master-secret-version",
            secret_id=secret.id,
            secret_string=pulumi.Output.json_dumps({"username": config.master_username, "password": password.result}),
            opts=self.child_opts(),
        )
        self.master_user_secret_arn = secret.arn

        # A replica keeps the primary secret's name and ARN; only the region differs (Secrets Manager user guide,
        # "Replicate an AWS Secrets Manager secret to other AWS Regions").
        def replica_arn(region: str) -> pulumi.Output[str]:
            return secret.arn.apply(lambda arn: arn.replace(f":{args.aws.region}:", f":{region}:", 1))

        self.master_user_secret_replica_arns = {region: replica_arn(region) for region in sorted(glob.secret_replicas)}
        return {
            "database_name": config.database_name,
            "master_username": config.master_username,
            "master_password_wo": password.result,
            # RDS only takes a new write-only password when its version changes.
            "master_password_wo_version": MASTER_PASSWORD_VERSION,
        }

    def _instances(
        self, name: str, args: DatabaseArgs, subnet_group: aws.rds.SubnetGroup, instance_count: int
    ) -> aws.rds.ClusterInstance | None:
        """The writer, then the readers in parallel over the AZs; returns the writer (None without instances)."""
        config, identifier = args.config, name
        monitoring_role = self._monitoring_role(name, args) if config.monitoring_interval_seconds else None
        self.instances: dict[str, aws.rds.ClusterInstance] = {}
        writer: aws.rds.ClusterInstance | None = None
        for key, zone in instance_zones(args.availability_zones, instance_count).items():
            instance = aws.rds.ClusterInstance(
                f"{name}-{key}",
                identifier=f"{identifier}-{key}",
                cluster_identifier=self.cluster.id,
                engine=aws.rds.EngineType(ENGINE),
                instance_class=config.instance_class,
                availability_zone=zone,
                db_subnet_group_name=subnet_group.name,
                publicly_accessible=False,
                # Failover order: the readers share tier 1, preferred over any later additions.
                promotion_tier=0 if writer is None else 1,
                ca_cert_identifier=CA_CERTIFICATE,
                auto_minor_version_upgrade=True,
                copy_tags_to_snapshot=True,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=args.kms_key_arn,
                performance_insights_retention_period=config.performance_insights_retention_days,
                monitoring_interval=config.monitoring_interval_seconds,
                monitoring_role_arn=monitoring_role.arn if monitoring_role else None,
                preferred_maintenance_window=config.maintenance_window,
                apply_immediately=False,
                tags={"Name": f"{identifier}-{key}"},
                # Readers wait for the first instance (only), so that it is the one Aurora makes the writer; they
                # are created in parallel with each other.
                opts=self.child_opts(protect=config.protect, depends_on=[writer] if writer else None),
            )
            writer = writer or instance
            self.instances[key] = instance
        return writer

    def _monitoring_role(self, name: str, args: DatabaseArgs) -> aws.iam.Role:
        """The role RDS enhanced monitoring uses to publish OS metrics (AWS managed policy, this account only)."""
        role = aws.iam.Role(
            f"{name}-monitoring-role",
            description=f"RDS enhanced monitoring of {name}",
            assume_role_policy=service_trust_policy(args.aws, "monitoring.rds", source_account_guard=True),
            opts=self.child_opts(),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=role.name,
            policy_arn=args.aws.managed_policy_arn("service-role/AmazonRDSEnhancedMonitoringRole"),
            opts=self.child_opts(),
        )
        return role
