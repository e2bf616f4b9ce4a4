"""A moto-backed AWS for the `ops dr` tests, with small explicit stubs where moto lacks the API.

moto has RDS clusters, instances, point-in-time restores, CloudWatch metrics, Route 53 and Secrets Manager, but
not Aurora Global Database membership and writer moves (`describe_global_clusters` ignores its identifier and
has no writer flag; switchover/failover do not exist) nor AWS Backup recovery points and restore jobs, and its
cluster rename (`ModifyDBCluster NewDBClusterIdentifier`) leaves the instances behind (membership is by name). Those
calls go to the stubs below, named as such; everything else reaches moto.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class StubbedGlobalDatabase:
    """STUB of the Aurora Global Database APIs moto lacks: membership (member ARN -> is writer), switchover,
    failover, detach. `fail` makes the next call of an operation fail once (a failure mid-way)."""

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier
        self.members: dict[str, bool] = {}
        self.calls: list[str] = []
        self.fail: set[str] = set()

    def _check(self, operation: str, identifier: str) -> None:
        self.calls.append(operation)
        if operation in self.fail:
            self.fail.discard(operation)
            raise _error("InvalidGlobalClusterStateFault", "injected failure", operation)
        if identifier != self.identifier:
            raise _error("GlobalClusterNotFoundFault", f"{identifier} not found", operation)

    def describe_global_clusters(self, GlobalClusterIdentifier: str) -> dict[str, Any]:
        self._check("DescribeGlobalClusters", GlobalClusterIdentifier)
        members = [{"DBClusterArn": arn, "IsWriter": writer} for arn, writer in self.members.items()]
        return {"GlobalClusters": [{"GlobalClusterIdentifier": self.identifier, "Status": "available",
                                    "GlobalClusterMembers": members}]}  # fmt: skip

    def _move_writer(self, operation: str, identifier: str, target: str) -> dict[str, Any]:
        self._check(operation, identifier)
        if target not in self.members:
            raise _error("InvalidParameterValue", f"{target} is not a member", operation)
        self.members = {arn: arn == target for arn in self.members}
        return {}

    def switchover_global_cluster(self, GlobalClusterIdentifier: str, TargetDbClusterIdentifier: str) -> dict:
        return self._move_writer("SwitchoverGlobalCluster", GlobalClusterIdentifier, TargetDbClusterIdentifier)

    def failover_global_cluster(
        self, GlobalClusterIdentifier: str, TargetDbClusterIdentifier: str, AllowDataLoss: bool = False
    ) -> dict:
        assert AllowDataLoss is True, "an unplanned failover must allow data loss"
        return self._move_writer("FailoverGlobalCluster", GlobalClusterIdentifier, TargetDbClusterIdentifier)

    def remove_from_global_cluster(self, GlobalClusterIdentifier: str, DbClusterIdentifier: str) -> dict:
        self._check("RemoveFromGlobalCluster", GlobalClusterIdentifier)
        self.members.pop(DbClusterIdentifier)
        return {}


class StubbedBackupRestores:
    """STUB of AWS Backup recovery points and restore jobs (moto has vaults but neither): a restore job restores
    the recovery point's cluster through moto's RDS point-in-time restore with the job's metadata."""

    def __init__(self, rds_of: Callable[[str], Any]) -> None:
        self.rds_of = rds_of
        self.points: dict[str, list[dict[str, Any]]] = {}  # vault -> recovery points
        self.jobs: dict[str, dict[str, Any]] = {}
        self.metadata: list[dict[str, str]] = []

    def add_point(self, vault: str, cluster_arn: str, role_arn: str) -> str:
        arn = f"arn:aws:backup:{cluster_arn.split(':')[3]}:{ACCOUNT}:recovery-point:{uuid.uuid4()}"
        self.points.setdefault(vault, []).append({
            "RecoveryPointArn": arn, "ResourceArn": cluster_arn, "IamRoleArn": role_arn, "Status": "COMPLETED",
            "CreationDate": datetime.now(UTC), "ResourceType": "Aurora"})  # fmt: skip
        return arn

    def list_recovery_points_by_backup_vault(self, BackupVaultName: str, **kwargs: Any) -> dict[str, Any]:
        points = self.points.get(BackupVaultName, [])
        if "ByResourceArn" in kwargs:
            points = [p for p in points if p["ResourceArn"] == kwargs["ByResourceArn"]]
        return {"RecoveryPoints": points}

    def describe_recovery_point(self, BackupVaultName: str, RecoveryPointArn: str) -> dict[str, Any]:
        return next(p for p in self.points.get(BackupVaultName, []) if p["RecoveryPointArn"] == RecoveryPointArn)

    def start_restore_job(self, RecoveryPointArn: str, IamRoleArn: str, ResourceType: str, Metadata: dict[str, str],
                          IdempotencyToken: str) -> dict[str, str]:  # fmt: skip
        assert all(isinstance(v, str) for v in Metadata.values()), "AWS Backup restore metadata values are strings"
        point = next(p for ps in self.points.values() for p in ps if p["RecoveryPointArn"] == RecoveryPointArn)
        region = point["ResourceArn"].split(":")[3]
        self.metadata.append(Metadata)
        import json

        self.rds_of(region).restore_db_cluster_to_point_in_time(
            DBClusterIdentifier=Metadata["DBClusterIdentifier"], SourceDBClusterIdentifier=point["ResourceArn"],
            UseLatestRestorableTime=True, DBSubnetGroupName=Metadata["DBSubnetGroupName"],
            VpcSecurityGroupIds=json.loads(Metadata["VpcSecurityGroupIds"]), KmsKeyId=Metadata["KmsKeyId"],
            DBClusterParameterGroupName=Metadata["DBClusterParameterGroupName"],
            DeletionProtection=Metadata["DeletionProtection"] == "true",
        )  # fmt: skip
        job = str(uuid.uuid4())
        self.jobs[job] = {"RestoreJobId": job, "Status": "COMPLETED"}
        return {"RestoreJobId": job}

    def describe_restore_job(self, RestoreJobId: str) -> dict[str, Any]:
        return self.jobs[RestoreJobId]


class StubbedClusterRename:
    """moto renames a cluster but its instances keep naming the old identifier, so the renamed cluster loses them
    (and a cluster later given the old name would gain them). RDS moves the instances with the cluster: so does this
    stub, around moto's own `modify_db_cluster`."""

    def __init__(self, real: Any, region: str) -> None:
        self._real, self._region = real, region

    def modify_db_cluster(self, **kwargs: Any) -> dict[str, Any]:
        from moto.rds.models import DBInstanceClustered, rds_backends

        old, new = kwargs["DBClusterIdentifier"], kwargs.get("NewDBClusterIdentifier")
        backend = rds_backends[ACCOUNT][self._region]
        moving = [i for i in backend.databases.values()
                  if isinstance(i, DBInstanceClustered) and i.db_cluster_identifier == old]  # fmt: skip
        answer = self._real.modify_db_cluster(**kwargs)
        for instance in moving if new else []:
            instance.db_cluster_identifier = new
        return dict(answer)


class Client:
    """A moto client whose stubbed operations go to a stub object first."""

    def __init__(self, real: Any, stub: Any, operations: tuple[str, ...], more: dict[str, Any] | None = None) -> None:
        self._real, self._stub, self._operations = real, stub, operations
        self._more = more or {}  # operation -> another stub object answering it
        self.fail: dict[str, int] = {}  # operation -> failures to inject into moto-backed calls

    def __getattr__(self, name: str) -> Any:
        if name in self._more:
            return getattr(self._more[name], name)
        if name in self._operations:
            return getattr(self._stub, name)
        real = getattr(self._real, name)
        if name in self.fail and callable(real):

            def failing(*args: Any, **kwargs: Any) -> Any:
                if self.fail.get(name, 0) > 0:
                    self.fail[name] -= 1
                    raise _error("InternalFailure", "injected failure", name)
                return real(*args, **kwargs)

            return failing
        return real


GLOBAL_OPERATIONS = ("describe_global_clusters", "switchover_global_cluster", "failover_global_cluster",
                     "remove_from_global_cluster")  # fmt: skip
BACKUP_OPERATIONS = ("list_recovery_points_by_backup_vault", "describe_recovery_point", "start_restore_job",
                     "describe_restore_job")  # fmt: skip


class FakeAws:
    """Clients per (service, region): moto, with the named stubs in front of the APIs moto lacks."""

    def __init__(self, global_identifier: str) -> None:
        self.globals = StubbedGlobalDatabase(global_identifier)
        self.backups = StubbedBackupRestores(lambda region: self.client("rds", region))
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        if (service, region) not in self._clients:
            real = boto3.client(service, region_name=region)
            if service == "rds":
                rename = StubbedClusterRename(real, region)
                real = Client(real, self.globals, GLOBAL_OPERATIONS, {"modify_db_cluster": rename})
            elif service == "backup":
                real = Client(real, self.backups, BACKUP_OPERATIONS)
            self._clients[(service, region)] = real
        return self._clients[(service, region)]
