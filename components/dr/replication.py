"""Pure builders of the data replication into the DR region: the S3 replication role's policy and rules, and the ECR
registry's replication rule. No resources: `DisasterRecovery` declares them.

The role's policy follows the S3 user guide ("Setting up permissions for live replication" and "Replicating
encrypted objects"): read the source buckets' replication configuration and object versions (with their tags, Object
Lock retention and legal holds), replicate into the replica buckets, decrypt with the source key only through S3 in
the source region and only for the source buckets, encrypt with the replica-region key only through S3 in the DR
region and only for the replica buckets (`kms:ViaService` and `kms:EncryptionContext:aws:s3:arn`; with S3 Bucket Keys
the context is the bucket's ARN, without them the object's, so both are admitted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from lib.aws import AwsContext

# S3 Replication Time Control: 99.99% of new objects within 15 minutes; the only threshold S3 accepts.
RTC_MINUTES = 15
SOURCE_BUCKET_ACTIONS: tuple[str, ...] = ("s3:GetReplicationConfiguration", "s3:ListBucket")
SOURCE_OBJECT_ACTIONS: tuple[str, ...] = (
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionTagging",
    "s3:GetObjectRetention",
    "s3:GetObjectLegalHold",
)
REPLICA_OBJECT_ACTIONS: tuple[str, ...] = ("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags")


@dataclass(frozen=True)
class ReplicatedBucket:
    """One source bucket (primary region) and its replica (DR region), by ARN."""

    source_arn: pulumi.Input[str]
    replica_arn: pulumi.Input[str]


def _bucket_context(arns: Sequence[str]) -> list[str]:
    """`kms:EncryptionContext:aws:s3:arn` values of objects of these buckets, with and without S3 Bucket Keys."""
    return [value for arn in arns for value in (arn, f"{arn}/*")]


def replication_statements(
    source: AwsContext,
    replica: AwsContext,
    buckets: Sequence[tuple[str, str]],
    source_key_arn: str,
    replica_key_arn: str,
) -> list[dict[str, Any]]:
    """The replication role's statements for `(source bucket ARN, replica bucket ARN)` pairs (resolved values)."""
    sources = [s for s, _ in buckets]
    replicas = [r for _, r in buckets]
    return [
        {"Sid": "ReadSourceConfiguration", "Effect": "Allow", "Action": list(SOURCE_BUCKET_ACTIONS),
         "Resource": sources},
        {"Sid": "ReadSourceVersions", "Effect": "Allow", "Action": list(SOURCE_OBJECT_ACTIONS),
         "Resource": [f"{arn}/*" for arn in sources]},
        {"Sid": "WriteReplicas", "Effect": "Allow", "Action": list(REPLICA_OBJECT_ACTIONS),
         "Resource": [f"{arn}/*" for arn in replicas]},
        {
            "Sid": "DecryptSourceThroughS3",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": source_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": source.regional_endpoint("s3")},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": _bucket_context(sources)},
            },
        },
        {
            "Sid": "EncryptReplicasThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": replica_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": replica.regional_endpoint("s3")},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": _bucket_context(replicas)},
            },
        },
    ]  # fmt: skip


def replication_rule(
    key: str, replica_arn: pulumi.Input[str], replica_key_arn: pulumi.Input[str], *, time_control: bool
) -> aws.s3.BucketReplicationConfigRuleArgsDict:
    """The one rule of a bucket: every object (and delete marker) into the replica, re-encrypted with the replica
    key, with replication metrics (the alarms read them) and, with `time_control`, Replication Time Control."""
    destination: aws.s3.BucketReplicationConfigRuleDestinationArgsDict = {
        "bucket": replica_arn,
        "storage_class": "STANDARD",
        "encryption_configuration": {"replica_kms_key_id": replica_key_arn},
        "metrics": {"status": "Enabled", "event_threshold": {"minutes": RTC_MINUTES}},
    }
    if time_control:
        destination["replication_time"] = {"status": "Enabled", "time": {"minutes": RTC_MINUTES}}
    return {
        "id": f"dr-{key}",
        "status": "Enabled",
        "priority": 1,
        "filter": {"prefix": ""},
        "delete_marker_replication": {"status": "Enabled"},
        "source_selection_criteria": {
            "sse_kms_encrypted_objects": {"status": "Enabled"},
            "replica_modifications": {"status": "Enabled"},
        },
        "destination": destination,
    }


def registry_replication(
    replica: AwsContext, repository_prefix: str
) -> aws.ecr.ReplicationConfigurationReplicationConfigurationArgsDict:
    """ECR registry replication: repositories under `repository_prefix` into the DR region of the same account."""
    return {
        "rules": [
            {
                "destinations": [{"region": replica.region, "registry_id": replica.account_id}],
                "repository_filters": [{"filter": repository_prefix, "filter_type": "PREFIX_MATCH"}],
            }
        ]
    }


def rule_ids(keys: Mapping[str, object]) -> dict[str, str]:
    """Bucket key -> its replication rule's id (the `RuleId` dimension of the replication metrics)."""
    return {key: f"dr-{key}" for key in keys}
