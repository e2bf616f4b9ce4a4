"""Database rules: Aurora / RDS encryption, exposure, backups, protection, credentials, observability."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import (
    ADVISORY,
    CRITICAL,
    HIGH,
    LOW,
    MEDIUM,
    Param,
    StackIndex,
    as_strings,
    dig,
    is_set,
    resource_rule,
    stack_rule,
    truthy,
)  # fmt: skip
from .dr import is_global_secondary

RDS_CLUSTER = "aws:rds/cluster:Cluster"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
DATABASES = (RDS_CLUSTER, RDS_INSTANCE)


@resource_rule(
    id="rds-storage-encrypted-cmk",
    area="database",
    types=DATABASES,
    description="Database storage is encrypted with a customer-managed KMS key.",
    severity=HIGH,
    remediation=(
        "Set storage_encrypted=True and kms_key_id to the platform's database key (cannot change later: new cluster "
        "+ restore)."
    ),
    controls=("FSBP RDS.27", "FSBP RDS.3", "CIS 2.3.1", "CKV_AWS_96", "CKV_AWS_327", "CKV_AWS_16"),
    on_unknown="fail",
)
def rds_storage_encrypted(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not truthy(props.get("storageEncrypted")):
        yield "storageEncrypted is not true: data, snapshots and replicas are stored unencrypted"
    elif not is_set(props, "kmsKeyId"):
        yield "kmsKeyId is not set: storage uses the AWS-managed aws/rds key (no key policy, no cross-account copy)"


@resource_rule(
    id="rds-not-public",
    area="database",
    types=(*DATABASES, RDS_CLUSTER_INSTANCE),
    description="No database instance is publicly accessible.",
    severity=CRITICAL,
    remediation="Set publicly_accessible=False and place the database in the isolated database subnets.",
    controls=("FSBP RDS.2", "CIS 2.3.3", "CKV_AWS_17"),
    on_unknown="fail",
)
def rds_not_public(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if truthy(props.get("publiclyAccessible")):
        yield "publiclyAccessible is true: the database gets a public DNS name and address"


@resource_rule(
    id="rds-backup-retention",
    area="database",
    types=DATABASES,
    description="Automated backups (point-in-time recovery) are kept at least the environment's minimum days.",
    severity=HIGH,
    remediation="Set backup_retention_period to at least the minimum (pack config minimumDays; 1-35).",
    controls=("FSBP RDS.11", "FSBP RDS.26", "CKV_AWS_133"),
    on_unknown="fail",
    params={
        "minimumDays": Param(7, {"type": "integer", "minimum": 1, "maximum": 35}, "Minimum backup retention in days.")
    },
)
def rds_backup_retention(_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    days = props.get("backupRetentionPeriod")
    if days is None or int(days) < int(config["minimumDays"]):
        shown = "unset (AWS default 1)" if days is None else days
        yield f"backupRetentionPeriod is {shown}; at least {config['minimumDays']} days"


@resource_rule(
    id="rds-deletion-protection",
    area="database",
    types=DATABASES,
    description="Databases have deletion protection (outside dev).",
    severity=HIGH,
    remediation="Set deletion_protection=True (the database config's deletion_protection in staging/prod).",
    controls=("FSBP RDS.7", "FSBP RDS.8", "CKV_AWS_139", "CKV_AWS_293"),
    on_unknown="fail",
)
def rds_deletion_protection(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not truthy(props.get("deletionProtection")):
        yield "deletionProtection is not true: one API call deletes the database"


@resource_rule(
    id="rds-final-snapshot",
    area="database",
    types=DATABASES,
    description="Deleting a database takes a final snapshot (outside dev).",
    severity=HIGH,
    remediation="Set skip_final_snapshot=False and final_snapshot_identifier=<name>-final.",
    controls=("CKV_AWS_139",),
    on_unknown="fail",
)
def rds_final_snapshot(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if truthy(props.get("skipFinalSnapshot")):
        yield "skipFinalSnapshot is true: deleting the database loses its data"
    elif not is_set(props, "finalSnapshotIdentifier"):
        yield "finalSnapshotIdentifier is not set: AWS refuses the delete, or (skipFinalSnapshot) loses the data"


@stack_rule(
    id="rds-multi-az",
    area="database",
    types=DATABASES,
    description=(
        "Databases survive an AZ outage: an Aurora cluster has a writer and a reader in different AZs; an instance "
        "is Multi-AZ."
    ),
    severity=HIGH,
    remediation="Aurora: declare at least two cluster instances (instance_count >= 2); RDS: multi_az=True.",
    controls=("FSBP RDS.5", "FSBP RDS.15", "CKV_AWS_157"),
    on_unknown="pass",
)
def rds_multi_az(db: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert db is not None
    if db.resource_type == RDS_INSTANCE:
        if not truthy(db.props.get("multiAz")):
            yield f"instance {db.name} is single-AZ (multiAz is not true)"
        return
    if is_global_secondary(db):
        return  # an Aurora Global secondary: the primary serves; promotion brings it to the primary's size
    members = index.dependents(db, RDS_CLUSTER_INSTANCE)
    zones = {str(dig(m.props, "availabilityZone")) for m in members if dig(m.props, "availabilityZone")}
    if len(members) < 2:
        yield f"cluster {db.name} has {len(members)} instance(s); at least 2 so a reader in another AZ can take over"
    elif len(zones) == 1 and len(members) == len([m for m in members if dig(m.props, "availabilityZone")]):
        yield f"all instances of cluster {db.name} are pinned to {zones.pop()}"


@stack_rule(
    id="rds-managed-master-password",
    area="database",
    types=DATABASES,
    description="The master password is generated and rotated by RDS in Secrets Manager; no literal password anywhere. "
    "An Aurora Global Database member, for which RDS cannot manage it, takes a generated password write-only "
    "(masterPasswordWo: never in the cluster's state).",
    severity=CRITICAL,
    remediation="Set manage_master_user_password=True (with master_user_secret_kms_key_id) and remove master_password; "
    "for the source of an aws.rds.GlobalCluster, master_password_wo with master_password_wo_version.",
    controls=("CIS 2.3 (RDS credentials)", "CKV_SECRET_6"),
    on_unknown="fail",
)
def rds_managed_master_password(
    db: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]
) -> Iterable[str]:
    assert db is not None
    props = db.props
    # The source of a global cluster: RDS cannot manage its password (Aurora user guide, "Limitations for Secrets
    # Manager integration"); a write-only one is the alternative that keeps it out of the cluster's state.
    global_source = db.resource_type == RDS_CLUSTER and bool(index.dependents(db, GLOBAL_CLUSTER))
    for key in ("masterPassword", "masterPasswordWo", "password", "passwordWo"):
        if is_set(props, key) and not (global_source and key == "masterPasswordWo"):
            yield f"{key} is set: a literal password lives in config/state; let RDS manage it"
    if global_source and is_set(props, "masterPasswordWo"):
        return
    replica = is_set(props, "globalClusterIdentifier") or is_set(props, "replicationSourceIdentifier") or is_set(
        props, "replicateSourceDb") or is_set(props, "snapshotIdentifier")  # fmt: skip
    if not truthy(props.get("manageMasterUserPassword")) and not (replica and not is_set(props, "masterUsername")):
        yield "manageMasterUserPassword is not true"


@resource_rule(
    id="rds-iam-authentication",
    area="database",
    types=DATABASES,
    description="IAM database authentication is enabled (workloads connect with short-lived tokens).",
    severity=MEDIUM,
    remediation="Set iam_database_authentication_enabled=True.",
    controls=("FSBP RDS.10", "FSBP RDS.12", "CKV_AWS_162", "CKV_AWS_161"),
    on_unknown="fail",
)
def rds_iam_authentication(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not truthy(props.get("iamDatabaseAuthenticationEnabled")):
        yield "iamDatabaseAuthenticationEnabled is not true"


@resource_rule(
    id="rds-log-exports",
    area="database",
    types=DATABASES,
    description="Database logs are exported to CloudWatch Logs (postgresql for PostgreSQL engines).",
    severity=MEDIUM,
    remediation="Set enabled_cloudwatch_logs_exports=['postgresql'] (plus 'upgrade' for instances) for PostgreSQL.",
    controls=("FSBP RDS.9", "FSBP RDS.36", "CKV_AWS_129", "CKV_AWS_324"),
    on_unknown="fail",
)
def rds_log_exports(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    exports = as_strings(props.get("enabledCloudwatchLogsExports"))
    engine = str(props.get("engine") or "")
    if "postgres" in engine and "postgresql" not in exports:
        yield f"enabledCloudwatchLogsExports {exports} does not include 'postgresql'"
    elif not exports:
        yield "no logs are exported to CloudWatch Logs"


@stack_rule(
    id="rds-performance-insights",
    area="database",
    types=(RDS_CLUSTER, RDS_INSTANCE),
    description="Performance Insights is on (at the cluster or on every instance), encrypted with a customer key.",
    severity=LOW,
    remediation="Set performance_insights_enabled=True and performance_insights_kms_key_id (the database key).",
    controls=("CKV_AWS_353", "CKV_AWS_354"),
    on_unknown="fail",
)
def rds_performance_insights(db: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert db is not None
    holders = [db]
    if db.resource_type == RDS_CLUSTER and not truthy(db.props.get("performanceInsightsEnabled")):
        holders = index.dependents(db, RDS_CLUSTER_INSTANCE)
    if not holders:
        yield f"{db.name}: Performance Insights is not enabled"
    for holder in holders:
        if not truthy(holder.props.get("performanceInsightsEnabled")):
            yield f"{holder.name}: performanceInsightsEnabled is not true"
        elif not is_set(holder.props, "performanceInsightsKmsKeyId") and holder.resource_type != RDS_CLUSTER_INSTANCE:
            yield f"{holder.name}: performanceInsightsKmsKeyId is not set (AWS-managed key)"


@resource_rule(
    id="rds-copy-tags-to-snapshots",
    area="database",
    types=DATABASES,
    description="Snapshots inherit the database's tags (ownership and cost allocation survive the database).",
    severity=LOW,
    enforcement=ADVISORY,
    remediation="Set copy_tags_to_snapshot=True.",
    controls=("FSBP RDS.16", "FSBP RDS.17", "CKV2_AWS_60"),
    on_unknown="pass",
)
def rds_copy_tags(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not truthy(props.get("copyTagsToSnapshot")):
        yield "copyTagsToSnapshot is not true"


@resource_rule(
    id="rds-auto-minor-version-upgrade",
    area="database",
    types=(RDS_INSTANCE, RDS_CLUSTER_INSTANCE),
    description="Minor engine versions (security patches) are applied automatically in the maintenance window.",
    severity=LOW,
    remediation="Leave auto_minor_version_upgrade unset or True.",
    controls=("FSBP RDS.13", "CKV_AWS_226"),
    on_unknown="pass",
)
def rds_auto_minor_upgrade(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if props.get("autoMinorVersionUpgrade") is False or str(props.get("autoMinorVersionUpgrade")).lower() == "false":
        yield "autoMinorVersionUpgrade is false: security patches wait for a manual upgrade"
