"""A moto account with what `ops db maintenance` reads and writes, and the one explicit stub moto needs.

moto has no AWS Backup jobs (`start_backup_job`, `describe_backup_job`): `BackupJobStub` answers them through
botocore's Stubber, which still checks every request and response against the Backup service model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ops.db.aws import Targets

REGION = "us-east-1"
CLUSTER = "ai-platform-test"
ROLE_ARN = "arn:aws:iam::123456789012:role/ai-platform-test-backup-role"
JOB_ID = "6f1b7a52-3c1e-4c2b-9d7e-0a1b2c3d4e5f"


@dataclass
class Account:
    """moto clients plus the stubbed backup client, and the stack's targets in that account."""

    rds: Any
    cloudwatch: Any
    s3: Any
    backup: Any
    stub: Stubber
    targets: Targets

    def lag(self, reader: str, milliseconds: float) -> None:
        self.cloudwatch.put_metric_data(
            Namespace="AWS/RDS",
            MetricData=[{"MetricName": "AuroraReplicaLag", "Dimensions": [{"Name": "DBInstanceIdentifier",
                         "Value": reader}], "Value": milliseconds, "Unit": "Milliseconds",
                         "Timestamp": datetime.now(UTC)}],
        )  # fmt: skip

    def backup_job(self, run_id: str, states: tuple[str, ...] = ("RUNNING", "COMPLETED"), retention: int = 7) -> None:
        """Stub: start_backup_job (exact parameters expected) and one describe_backup_job answer per state."""
        cluster_arn = f"arn:aws:rds:{REGION}:123456789012:cluster:{CLUSTER}"
        self.stub.add_response(
            "start_backup_job",
            {"BackupJobId": JOB_ID, "CreationDate": datetime.now(UTC)},
            {
                "BackupVaultName": self.targets.backup_vault, "ResourceArn": cluster_arn, "IamRoleArn": ROLE_ARN,
                "IdempotencyToken": run_id, "StartWindowMinutes": 60, "CompleteWindowMinutes": 1440,
                "Lifecycle": {"DeleteAfterDays": retention},
                "RecoveryPointTags": {"ai-platform/purpose": "database-maintenance", "ai-platform/run": run_id},
            },
        )  # fmt: skip
        for state in states:
            answer = {"BackupJobId": JOB_ID, "State": state}
            if state == "COMPLETED":
                answer["RecoveryPointArn"] = f"arn:aws:rds:{REGION}:123456789012:cluster-snapshot:awsbackup:job-1"
            if state == "FAILED":
                answer["StatusMessage"] = "Insufficient privileges"
            self.stub.add_response("describe_backup_job", answer, {"BackupJobId": JOB_ID})


@contextmanager
def account(readers: int = 1) -> Iterator[Account]:
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                           ("AWS_DEFAULT_REGION", REGION)):  # fmt: skip
            env.setenv(key, value)
        rds = boto3.client("rds", region_name=REGION)
        rds.create_db_cluster(DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", MasterUsername="postgres",
                              ManageMasterUserPassword=True)  # fmt: skip
        for index in range(readers + 1):
            rds.create_db_instance(DBInstanceIdentifier=f"{CLUSTER}-{index}", DBClusterIdentifier=CLUSTER,
                                   Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")  # fmt: skip
        kms = boto3.client("kms", region_name=REGION)
        key_arn = kms.create_key(Description="storage")["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="ai-platform-test-exports")
        backup = boto3.client("backup", region_name=REGION)
        outputs = {
            "region": REGION, "cluster_name": "ai-platform-test", "database_cluster_identifier": CLUSTER,
            "database_endpoint": f"{CLUSTER}.cluster-abc.{REGION}.rds.amazonaws.com", "database_port": 5432,
            "database_name": "aiplatform", "database_master_secret_arn": "arn:aws:secretsmanager:us-east-1:"
            "123456789012:secret:rds!cluster-1", "backup_vault_name": "ai-platform-test-vault",
            "backup_role_arn": ROLE_ARN, "bucket_names": {"exports": "ai-platform-test-exports"},
            "kms_key_arns": {"storage": key_arn}, "ai_api_url": "https://api.test.example.com",
        }  # fmt: skip
        with Stubber(backup) as stub:
            yield Account(rds, boto3.client("cloudwatch", region_name=REGION), s3, backup, stub,
                          Targets.from_outputs("test", outputs))  # fmt: skip
