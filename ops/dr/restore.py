"""Restoring the stack's database into a new cluster beside the old one: point in time or a recovery point.

The new cluster gets the platform's own settings, read from the stack's live cluster in that region (never the
RDS defaults, which would be the default security group and parameter group): its DB subnet group, security
groups, cluster parameter group, KMS key, port, Serverless v2 range, log exports and IAM authentication. RDS
restores leave the master password unmanaged, so a step hands it back to RDS (`ManageMasterUserPassword`, a new
secret under the same key). A writer instance like the live writer follows. The same steps serve the drill.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lib import dr_names
from ops.dr.context import DrContext
from ops.dr.steps import DrInputError, Step

ENGINE = "aurora-postgresql"


@dataclass(frozen=True)
class RestoreSource:
    """Where the data comes from: the live cluster at a time (`to_time`, or its latest restorable time when None),
    or an AWS Backup recovery point."""

    cluster_id: str
    to_time: datetime | None = None
    recovery_point_arn: str | None = None
    iam_role_arn: str | None = None


@dataclass(frozen=True)
class RestoreTarget:
    """The cluster to create, and how protected it is (a drill's scratch cluster is not)."""

    region: str
    cluster_id: str
    deletion_protection: bool
    tags: dict[str, str]


def reference_settings(ctx: DrContext, region: str) -> dict[str, Any]:
    """The platform's database settings in `region`, read from the stack's cluster there."""
    reference = ctx.describe_cluster(region, ctx.cluster_id(region))
    if reference is None:
        raise DrInputError(
            f"no cluster {ctx.cluster_id(region)} in {region} to take the subnet group, security group, parameter "
            "group and key from; allowed: a region where `pulumi up` built it"
        )
    settings: dict[str, Any] = {
        "DBSubnetGroupName": reference["DBSubnetGroup"],
        "VpcSecurityGroupIds": [g["VpcSecurityGroupId"] for g in reference.get("VpcSecurityGroups", [])],
        "DBClusterParameterGroupName": reference["DBClusterParameterGroup"],
        "KmsKeyId": reference["KmsKeyId"],
        "Port": reference.get("Port", 5432),
        "EnableIAMDatabaseAuthentication": True,
        "CopyTagsToSnapshot": True,
        "EnableCloudwatchLogsExports": reference.get("EnabledCloudwatchLogsExports", []),
    }
    scaling = reference.get("ServerlessV2ScalingConfiguration")
    if scaling:
        settings["ServerlessV2ScalingConfiguration"] = {
            k: scaling[k] for k in ("MinCapacity", "MaxCapacity") if k in scaling
        }
    writer = next((m for m in reference.get("DBClusterMembers", []) if m.get("IsClusterWriter")), None)
    settings["_writer_class"] = ctx.config.database.instance_class
    if writer is not None:
        rds = ctx.client("rds", region)
        found = rds.describe_db_instances(DBInstanceIdentifier=writer["DBInstanceIdentifier"])["DBInstances"]
        if found:
            settings["_writer_class"] = found[0]["DBInstanceClass"]
    return settings


def check_restore_time(ctx: DrContext, region: str, source: RestoreSource) -> None:
    """A point in time must lie in the source's restorable window (`EarliestRestorableTime`..`LatestRestorableTime`)."""
    if source.recovery_point_arn is not None or source.to_time is None:
        return
    cluster = ctx.describe_cluster(region, source.cluster_id)
    if cluster is None:
        raise DrInputError(f"no source cluster {source.cluster_id} in {region}")
    earliest, latest = cluster.get("EarliestRestorableTime"), cluster.get("LatestRestorableTime")
    if earliest is None or latest is None or not earliest <= source.to_time <= latest:
        raise DrInputError(
            f"--to-time {source.to_time.isoformat()}: outside the restorable window of {source.cluster_id}; "
            f"allowed: {earliest.isoformat() if earliest else '?'} to {latest.isoformat() if latest else '?'}"
        )


def _cluster(ctx: DrContext, target: RestoreTarget) -> dict[str, Any] | None:
    return ctx.describe_cluster(target.region, target.cluster_id)


def _start_restore(ctx: DrContext, source: RestoreSource, target: RestoreTarget, settings: dict[str, Any]) -> None:
    rds_settings = {k: v for k, v in settings.items() if not k.startswith("_")}
    tags = [{"Key": k, "Value": v} for k, v in sorted(target.tags.items())]
    if source.recovery_point_arn is None:
        when: dict[str, Any] = (
            {"RestoreToTime": source.to_time} if source.to_time is not None else {"UseLatestRestorableTime": True}
        )
        ctx.client("rds", target.region).restore_db_cluster_to_point_in_time(
            DBClusterIdentifier=target.cluster_id, SourceDBClusterIdentifier=source.cluster_id, RestoreType="full-copy",
            DeletionProtection=target.deletion_protection, Tags=tags, **when, **rds_settings,
        )  # fmt: skip
        return
    # AWS Backup's restore metadata for Aurora: every value is a string (lists as JSON).
    metadata = {
        "DBClusterIdentifier": target.cluster_id, "Engine": ENGINE,
        "DBSubnetGroupName": settings["DBSubnetGroupName"],
        "VpcSecurityGroupIds": json.dumps(settings["VpcSecurityGroupIds"]),
        "DBClusterParameterGroupName": settings["DBClusterParameterGroupName"],
        "KmsKeyId": settings["KmsKeyId"], "Port": str(settings["Port"]),
        "EnableIAMDatabaseAuthentication": "true", "CopyTagsToSnapshot": "true",
        "DeletionProtection": str(target.deletion_protection).lower(),
    }  # fmt: skip
    backup = ctx.client("backup", target.region)
    job = backup.start_restore_job(
        RecoveryPointArn=source.recovery_point_arn, IamRoleArn=source.iam_role_arn, ResourceType="Aurora",
        Metadata=metadata, IdempotencyToken=target.cluster_id,
    )  # fmt: skip

    def finished() -> bool:
        status = backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])
        if status["Status"] in ("ABORTED", "FAILED"):
            raise RuntimeError(f"restore job {job['RestoreJobId']} {status['Status']}: {status.get('StatusMessage')}")
        return status["Status"] == "COMPLETED"

    ctx.clock.wait_until(f"restore job {job['RestoreJobId']}", finished)
    restored = _cluster(ctx, target) or {}
    ctx.client("rds", target.region).add_tags_to_resource(ResourceName=restored["DBClusterArn"], Tags=tags)


def restore_steps(ctx: DrContext, source: RestoreSource, target: RestoreTarget) -> list[Step]:
    """The steps from nothing to a usable restored cluster with the platform's settings and a writer."""
    settings = reference_settings(ctx, target.region)
    check_restore_time(ctx, target.region, source)
    writer_id = dr_names.writer_instance_identifier(target.cluster_id)
    rds = ctx.client("rds", target.region)
    what = source.recovery_point_arn or (source.to_time.isoformat() if source.to_time else "latest restorable time")

    def available() -> bool:
        cluster = _cluster(ctx, target)
        return cluster is not None and cluster["Status"] == "available"

    def managed_secret() -> bool:
        return bool((_cluster(ctx, target) or {}).get("MasterUserSecret"))

    def manage_secret() -> None:
        rds.modify_db_cluster(DBClusterIdentifier=target.cluster_id, ManageMasterUserPassword=True,
                              MasterUserSecretKmsKeyId=settings["KmsKeyId"], ApplyImmediately=True)  # fmt: skip
        ctx.clock.wait_until("the managed master secret", managed_secret)

    def has_writer() -> bool:
        return any(m["DBInstanceIdentifier"] == writer_id for m in (_cluster(ctx, target) or {}).get(
            "DBClusterMembers", []))  # fmt: skip

    def writer_available() -> bool:
        return ctx.instance_status(target.region, writer_id) == "available"

    def create_writer() -> None:
        rds.create_db_instance(
            DBInstanceIdentifier=writer_id, DBClusterIdentifier=target.cluster_id, Engine=ENGINE,
            DBInstanceClass=settings["_writer_class"], PubliclyAccessible=False, AutoMinorVersionUpgrade=True,
            CopyTagsToSnapshot=True, Tags=[{"Key": k, "Value": v} for k, v in sorted(target.tags.items())],
        )  # fmt: skip

    return [
        Step(f"restore {target.cluster_id} ({target.region}) from {source.cluster_id} at {what}",
             lambda: _cluster(ctx, target) is not None, lambda: _start_restore(ctx, source, target, settings)),
        Step(f"{target.cluster_id} available", available,
             lambda: ctx.clock.wait_until(f"{target.cluster_id} available", available)),
        Step(f"RDS manages the master password of {target.cluster_id} (a new secret)", managed_secret, manage_secret),
        Step(f"writer instance {writer_id} ({settings['_writer_class']})", has_writer, create_writer),
        Step(f"{writer_id} available", writer_available,
             lambda: ctx.clock.wait_until(f"{writer_id} available", writer_available)),
    ]  # fmt: skip


def latest_recovery_point(ctx: DrContext, region: str, cluster_arn: str) -> dict[str, Any]:
    """The newest completed recovery point of `cluster_arn` in the stack's vault of `region`."""
    backup = ctx.client("backup", region)
    vault = ctx.vault_name(region)
    points: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"BackupVaultName": vault, "ByResourceArn": cluster_arn}
    while True:
        page = backup.list_recovery_points_by_backup_vault(**kwargs)
        points += [p for p in page.get("RecoveryPoints", []) if p.get("Status") == "COMPLETED"]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    if not points:
        raise DrInputError(f"no completed recovery point of {cluster_arn} in vault {vault} ({region})")
    return max(points, key=lambda p: p["CreationDate"])
