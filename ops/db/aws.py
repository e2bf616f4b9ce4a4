"""The AWS side of database maintenance: what the stack is (its outputs), the recovery point taken first, the
replica-lag guard, and the durable maintenance log. Plain boto3 over clients passed in (moto in the tests)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ops.db.sql import StepError

# The stack outputs the command reads (`pulumi stack output --json`); ai_api_url only exists with `ai-platform:api`.
REQUIRED_OUTPUTS = (
    "region", "cluster_name", "database_cluster_identifier", "database_endpoint", "database_port", "database_name",
    "database_master_secret_arn", "backup_vault_name", "backup_role_arn", "bucket_names", "kms_key_arns",
)  # fmt: skip
# Targets field -> the stack output it comes from (what a dry run without outputs shows).
PLACEHOLDERS = {
    "region": "region", "cluster_name": "cluster_name", "cluster_identifier": "database_cluster_identifier",
    "writer_endpoint": "database_endpoint", "database": "database_name",
    "master_secret_arn": "database_master_secret_arn",
    "backup_vault": "backup_vault_name", "backup_role_arn": "backup_role_arn", "log_bucket": "bucket_names.exports",
    "log_kms_key_arn": "kms_key_arns.storage",
}  # fmt: skip
LOG_PREFIX = "maintenance/database"
BACKUP_DONE = "COMPLETED"
BACKUP_FAILED = ("ABORTED", "FAILED", "EXPIRED", "PARTIAL")


class TargetsError(ValueError):
    """The stack outputs lack what the command needs (a stack not deployed yet, or deployed by an older version)."""


@dataclass(frozen=True)
class Targets:
    """Where the maintenance acts, from the stack's outputs."""

    stack: str
    region: str
    cluster_name: str
    cluster_identifier: str
    writer_endpoint: str
    port: int
    database: str
    master_secret_arn: str
    backup_vault: str
    backup_role_arn: str
    log_bucket: str
    log_kms_key_arn: str
    api_url: str | None

    @classmethod
    def from_outputs(cls, stack: str, outputs: Mapping[str, Any]) -> Targets:
        missing = [key for key in REQUIRED_OUTPUTS if outputs.get(key) in (None, "")]
        buckets, keys = outputs.get("bucket_names") or {}, outputs.get("kms_key_arns") or {}
        missing += [] if "exports" in buckets else ["bucket_names.exports"]
        missing += [] if "storage" in keys else ["kms_key_arns.storage"]
        if missing:
            raise TargetsError(
                f"stack {stack}: the outputs lack {', '.join(dict.fromkeys(missing))}; run `pulumi up` with this "
                "version of the project first (or pass --outputs with `pulumi stack output --json` of the stack)"
            )
        return cls(
            stack=stack,
            region=outputs["region"],
            cluster_name=outputs["cluster_name"],
            cluster_identifier=outputs["database_cluster_identifier"],
            writer_endpoint=outputs["database_endpoint"],
            port=int(outputs["database_port"]),
            database=outputs["database_name"],
            master_secret_arn=outputs["database_master_secret_arn"],
            backup_vault=outputs["backup_vault_name"],
            backup_role_arn=outputs["backup_role_arn"],
            log_bucket=buckets["exports"],
            log_kms_key_arn=keys["storage"],
            api_url=outputs.get("ai_api_url") or None,
        )


def placeholder_targets(stack: str, with_api: bool) -> Targets:
    """Targets naming the stack outputs they would come from, for a dry run without outputs."""
    names = {field: f"<{output}>" for field, output in PLACEHOLDERS.items()}
    return Targets(stack=stack, port=5432, api_url="<ai_api_url>" if with_api else None, **names)


def cluster_arn(rds: Any, targets: Targets) -> str:
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=targets.cluster_identifier)["DBClusters"]
    return str(cluster["DBClusterArn"])


def start_recovery_point(backup: Any, rds: Any, targets: Targets, *, run_id: str, retention_days: int) -> str:
    """Start an on-demand AWS Backup job of the Aurora cluster into the stack's vault, with the plan's role; returns
    the job id. Same vault, key, lock and notifications as the scheduled recovery points; it expires after
    `retention_days` (the daily rule's retention, which a locked vault accepts). The run id is the idempotency
    token: a resumed run never starts a second job."""
    response = backup.start_backup_job(
        BackupVaultName=targets.backup_vault,
        ResourceArn=cluster_arn(rds, targets),
        IamRoleArn=targets.backup_role_arn,
        IdempotencyToken=run_id,
        StartWindowMinutes=60,
        CompleteWindowMinutes=24 * 60,
        Lifecycle={"DeleteAfterDays": retention_days},
        RecoveryPointTags={"ai-platform/purpose": "database-maintenance", "ai-platform/run": run_id},
    )
    return str(response["BackupJobId"])


def wait_for_recovery_point(
    backup: Any,
    job_id: str,
    *,
    timeout_seconds: float,
    poll_seconds: float = 30,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll the backup job until it completes; a failed job or the timeout is a `StepError` (the job itself goes on
    after a timeout: `aws backup describe-backup-job --backup-job-id <id>`)."""
    deadline = clock() + timeout_seconds
    while True:
        job = backup.describe_backup_job(BackupJobId=job_id)
        state = job["State"]
        if state == BACKUP_DONE:
            return {"backup_job_id": job_id, "recovery_point_arn": job.get("RecoveryPointArn"), "state": state}
        if state in BACKUP_FAILED:
            raise StepError(f"backup job {job_id} ended {state}: {job.get('StatusMessage', 'no message')}")
        if clock() >= deadline:
            raise StepError(
                f"backup job {job_id} still {state} after {timeout_seconds:.0f}s; nothing was changed. It goes on: "
                f"check `aws backup describe-backup-job --backup-job-id {job_id}`, then --resume"
            )
        sleep(poll_seconds)


def replica_lag(rds: Any, cloudwatch: Any, targets: Targets, *, max_lag_ms: float, window_minutes: int = 5) -> dict:
    """The highest `AuroraReplicaLag` (ms) of each reader over the last minutes; a `StepError` when one is above
    `max_lag_ms` or reports nothing (its lag is then unknown). A cluster without readers passes."""
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=targets.cluster_identifier)["DBClusters"]
    readers = sorted(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if not m["IsClusterWriter"])
    now = datetime.now(UTC)
    lags: dict[str, float | None] = {}
    for reader in readers:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="AuroraReplicaLag",
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": reader}],
            StartTime=now - timedelta(minutes=window_minutes),
            EndTime=now + timedelta(minutes=1),  # the request has whole seconds: the last point stays inside
            Period=60,
            Statistics=["Maximum"],
            Unit="Milliseconds",
        )["Datapoints"]
        lags[reader] = max((p["Maximum"] for p in points), default=None)
    unknown = [r for r, lag in lags.items() if lag is None]
    behind = {r: lag for r, lag in lags.items() if lag is not None and lag > max_lag_ms}
    if unknown or behind:
        reasons = [f"{r}: no AuroraReplicaLag data in {window_minutes} min" for r in unknown]
        reasons += [f"{r}: {lag:.0f} ms" for r, lag in behind.items()]
        raise StepError(f"replica lag above {max_lag_ms:.0f} ms or unknown, refusing: {'; '.join(reasons)}")
    return {"readers": lags, "max_lag_ms": max_lag_ms}


def log_key(targets: Targets, run_id: str) -> str:
    return f"{LOG_PREFIX}/{targets.stack}/{run_id}.json"


def write_log(s3: Any, targets: Targets, record: Mapping[str, Any]) -> str:
    """Store the run's record as JSON in the stack's exports bucket, SSE-KMS with the platform's storage key (in
    prod the bucket's Object Lock keeps every version unchangeable); returns its s3:// address."""
    key = log_key(targets, str(record["run_id"]))
    s3.put_object(
        Bucket=targets.log_bucket,
        Key=key,
        Body=json.dumps(record, indent=2, sort_keys=True, default=str).encode(),
        ContentType="application/json",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=targets.log_kms_key_arn,
        BucketKeyEnabled=True,
    )
    return f"s3://{targets.log_bucket}/{key}"


def latest_unfinished_log(s3: Any, targets: Targets) -> dict[str, Any] | None:
    """The newest stored record of this stack whose run did not finish (for --resume on another machine)."""
    prefix = f"{LOG_PREFIX}/{targets.stack}/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=targets.log_bucket, Prefix=prefix)
    objects = sorted((o for page in pages for o in page.get("Contents", [])), key=lambda o: o["LastModified"])
    for item in reversed(objects):
        record = json.loads(s3.get_object(Bucket=targets.log_bucket, Key=item["Key"])["Body"].read())
        if record.get("status") != "succeeded":
            return dict(record)
        return None
    return None
