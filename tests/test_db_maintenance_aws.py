"""The AWS steps of `ops db maintenance` against moto (backup jobs through the explicit `BackupJobStub` of
tests/db_maintenance_aws.py: moto has none): the recovery point and its wait, the replica-lag guard, the durable
log, and the stack outputs the command needs."""

from __future__ import annotations

import json
from itertools import count

import pytest

from ops.db import aws
from ops.db.sql import StepError
from tests.db_maintenance_aws import CLUSTER, JOB_ID, account


def test_recovery_point_is_an_aws_backup_job_into_the_vault_waited_for() -> None:
    with account() as acct:
        acct.backup_job("run-1", states=("CREATED", "RUNNING", "COMPLETED"))
        job = aws.start_recovery_point(acct.backup, acct.rds, acct.targets, run_id="run-1", retention_days=7)
        slept: list[float] = []
        done = aws.wait_for_recovery_point(acct.backup, job, timeout_seconds=600, poll_seconds=5, sleep=slept.append)
        acct.stub.assert_no_pending_responses()
    assert done["backup_job_id"] == JOB_ID
    assert done["recovery_point_arn"].startswith("arn:aws:rds:")
    assert slept == [5, 5]


def test_a_failed_backup_job_stops_the_run() -> None:
    with account() as acct:
        acct.backup_job("run-2", states=("RUNNING", "FAILED"))
        job = aws.start_recovery_point(acct.backup, acct.rds, acct.targets, run_id="run-2", retention_days=7)
        with pytest.raises(StepError, match="ended FAILED: Insufficient privileges"):
            aws.wait_for_recovery_point(acct.backup, job, timeout_seconds=600, sleep=lambda _: None)


def test_a_backup_job_past_the_timeout_stops_the_run_and_names_the_job() -> None:
    ticks = count(0, 100)
    with account() as acct:
        acct.backup_job("run-3", states=("RUNNING", "RUNNING", "RUNNING"))
        job = aws.start_recovery_point(acct.backup, acct.rds, acct.targets, run_id="run-3", retention_days=7)
        with pytest.raises(StepError, match=f"still RUNNING after 150s.*--backup-job-id {JOB_ID}"):
            aws.wait_for_recovery_point(acct.backup, job, timeout_seconds=150, sleep=lambda _: None,
                                        clock=lambda: float(next(ticks)))  # fmt: skip


def test_replica_lag_below_the_threshold_passes_and_above_it_refuses() -> None:
    with account(readers=2) as acct:
        acct.lag(f"{CLUSTER}-1", 40)
        acct.lag(f"{CLUSTER}-2", 120)
        found = aws.replica_lag(acct.rds, acct.cloudwatch, acct.targets, max_lag_ms=1000)
        assert found["readers"] == {f"{CLUSTER}-1": 40, f"{CLUSTER}-2": 120}
        acct.lag(f"{CLUSTER}-2", 4000)
        with pytest.raises(StepError, match=f"{CLUSTER}-2: 4000 ms"):
            aws.replica_lag(acct.rds, acct.cloudwatch, acct.targets, max_lag_ms=1000)


def test_a_reader_without_lag_data_is_refused_and_a_cluster_without_readers_passes() -> None:
    with account(readers=1) as acct, pytest.raises(StepError, match="no AuroraReplicaLag data"):
        aws.replica_lag(acct.rds, acct.cloudwatch, acct.targets, max_lag_ms=1000)
    with account(readers=0) as acct:
        assert aws.replica_lag(acct.rds, acct.cloudwatch, acct.targets, max_lag_ms=1000)["readers"] == {}


def test_the_log_is_json_in_the_exports_bucket_encrypted_with_the_storage_key() -> None:
    with account() as acct:
        where = aws.write_log(acct.s3, acct.targets, {"run_id": "r1", "stack": "test", "status": "failed"})
        assert where == "s3://ai-platform-test-exports/maintenance/database/test/r1.json"
        stored = acct.s3.get_object(Bucket="ai-platform-test-exports", Key="maintenance/database/test/r1.json")
        assert stored["ServerSideEncryption"] == "aws:kms"
        assert stored["SSEKMSKeyId"] == acct.targets.log_kms_key_arn
        assert json.loads(stored["Body"].read())["status"] == "failed"
        assert aws.latest_unfinished_log(acct.s3, acct.targets)["run_id"] == "r1"
        aws.write_log(acct.s3, acct.targets, {"run_id": "r1", "stack": "test", "status": "succeeded"})
        assert aws.latest_unfinished_log(acct.s3, acct.targets) is None


def test_missing_outputs_are_named() -> None:
    with pytest.raises(aws.TargetsError, match=r"backup_role_arn, bucket_names, kms_key_arns.*pulumi up"):
        aws.Targets.from_outputs("dev", {"region": "us-east-1", "cluster_name": "c", "database_cluster_identifier": "c",
                                         "database_endpoint": "e", "database_port": 5432, "database_name": "d",
                                         "database_master_secret_arn": "s", "backup_vault_name": "v"})  # fmt: skip
