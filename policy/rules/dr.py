"""Disaster-recovery rules: recovery points copied to another region, data buckets replicated there, replicas as
protected as their sources, the Aurora Global secondary encrypted and deletion-protected.

Advisory by default (dev, without DR, sees them as advisories); the prod pack config makes them mandatory: a prod
stack must survive the loss of its region. The helpers `is_replica_bucket` and
`is_global_secondary` let the backup and availability rules recognise a DR copy: it is covered by its source's
backups and copies, and its availability is the primary's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import (
    ADVISORY,
    HIGH,
    StackIndex,
    dig,
    is_log_delivery,
    is_set,
    items,
    locked_audit_archive,
    mapping,
    stack_rule,
    truthy,
)

PLAN = "aws:backup/plan:Plan"
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = ("aws:s3/bucketReplicationConfig:BucketReplicationConfig",)
RDS_CLUSTER = "aws:rds/cluster:Cluster"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
_VAULT_ARN = re.compile(r"arn:aws[a-z-]*:backup:(?P<region>[a-z0-9-]+):[0-9]{12}:backup-vault:.+")


def _replications_of(bucket: PolicyResource, index: StackIndex) -> tuple[list[PolicyResource], list[PolicyResource]]:
    """(configurations replicating from the bucket, configurations replicating into it): a configuration names its
    source by `bucket` (the name) and depends on its destination through the rule's destination ARN."""
    outgoing: list[PolicyResource] = []
    incoming: list[PolicyResource] = []
    for config in index.dependents(bucket, *REPLICATION):
        source = config.props.get("bucket")
        (outgoing if source is not None and source == bucket.props.get("bucket") else incoming).append(config)
    return outgoing, incoming


def is_replica_bucket(bucket: PolicyResource, index: StackIndex) -> bool:
    """True for a bucket that a replication configuration of the stack writes into (a DR replica)."""
    return bool(_replications_of(bucket, index)[1])


def is_global_secondary(cluster: PolicyResource) -> bool:
    """True for an Aurora cluster that joins a global database (`globalClusterIdentifier` declared)."""
    return is_set(cluster.props, "globalClusterIdentifier")


@stack_rule(
    id="dr-backup-copies",
    area="dr",
    types=(PLAN,),
    description="Backup plans copy their long-lived recovery points into a vault of another region.",
    severity=HIGH,
    remediation="Give the plan's rules copy_actions to a vault of another region (ai-platform:dr.strategy).",
    controls=("FSBP Backup.1", "CIS AWS 3.0 (resilience)"),
    on_unknown="pass",
    enforcement=ADVISORY,
)
def dr_backup_copies(plan: PolicyResource | None, _index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert plan is not None
    destinations = [
        str(mapping(copy).get("destinationVaultArn"))
        for rule in items(plan.props.get("rules"))
        for copy in items(mapping(rule).get("copyActions"))
    ]
    if not any(_VAULT_ARN.fullmatch(arn) for arn in destinations):
        yield f"backup plan {plan.name} copies no recovery point into another region's vault"


@stack_rule(
    id="dr-bucket-replication",
    area="dr",
    types=(BUCKET,),
    description="Data buckets replicate into a replica bucket in the DR region (log-delivery buckets and replicas "
    "themselves excepted).",
    severity=HIGH,
    remediation="Declare aws.s3.BucketReplicationConfig on the bucket into its DR replica (ai-platform:dr.strategy).",
    controls=("FSBP S3.7", "CKV_AWS_144"),
    on_unknown="pass",
    enforcement=ADVISORY,
)
def dr_bucket_replication(
    bucket: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]
) -> Iterable[str]:
    assert bucket is not None
    if is_log_delivery(bucket.props) or is_replica_bucket(bucket, index):
        return
    if locked_audit_archive(bucket, index):
        return  # CloudTrail's archive: immutable where it is, and the multi-region trail logs on in the DR region
    outgoing, _ = _replications_of(bucket, index)
    enabled = [
        rule
        for config in outgoing
        for rule in items(config.props.get("rules"))
        if mapping(rule).get("status") == "Enabled"
    ]
    if not enabled:
        yield f"bucket {bucket.name} is not replicated to another region"


def _protections(bucket: PolicyResource, index: StackIndex) -> dict[str, bool]:
    """What protects a bucket: versioning, SSE-KMS, all four public-access-block flags, a TLS-only policy, Object
    Lock, Pulumi protect."""
    versioning = index.dependents(bucket, VERSIONING)
    encryption = [mapping(r) for c in index.dependents(bucket, ENCRYPTION) for r in items(c.props.get("rules"))]
    blocks = index.dependents(bucket, PUBLIC_ACCESS_BLOCK)
    policies = [str(p.props.get("policy") or "") for p in index.dependents(bucket, BUCKET_POLICY)]
    return {
        "versioning": any(dig(v.props, "versioningConfiguration", "status") == "Enabled" for v in versioning),
        "SSE-KMS": any(
            dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") in ("aws:kms", "aws:kms:dsse")
            and is_set(mapping(r.get("applyServerSideEncryptionByDefault")), "kmsMasterKeyId")
            for r in encryption
        ),
        "public access block": bool(blocks) and all(truthy(blocks[0].props.get(f)) for f in PAB_FLAGS),
        "TLS-only policy": any("aws:SecureTransport" in policy for policy in policies),
        "Object Lock": truthy(bucket.props.get("objectLockEnabled")) or bool(index.dependents(bucket, OBJECT_LOCK)),
        "protect": bool(bucket.opts.protect),
    }


@stack_rule(
    id="dr-replica-protected",
    area="dr",
    types=(*REPLICATION,),
    description="A replica bucket is as protected as its source: versioning, SSE-KMS with a key of its region, "
    "public access blocked, TLS-only policy, Object Lock and Pulumi protect wherever the source has them.",
    severity=HIGH,
    remediation="Build the replica with the same Storage builders and settings as the source (components/storage.py).",
    controls=("FSBP S3.4", "FSBP S3.5", "FSBP S3.8", "FSBP S3.14"),
    on_unknown="pass",
    enforcement=ADVISORY,
)
def dr_replica_protected(config: PolicyResource | None, index: StackIndex, _c: Mapping[str, Any]) -> Iterable[str]:
    assert config is not None
    sources = [b for b in index.by_type(BUCKET) if b.props.get("bucket") == config.props.get("bucket")]
    replicas = [b for b in index.by_type(BUCKET) if b.urn in {d.urn for d in _all_dependencies(config)}]
    replicas = [b for b in replicas if b not in sources]
    for source in sources:
        wanted = {name for name, on in _protections(source, index).items() if on}
        for replica in replicas:
            have = _protections(replica, index)
            missing = sorted(name for name in wanted if not have[name])
            if missing:
                yield f"replica {replica.name} of {source.name} lacks {', '.join(missing)}"
    for rule in items(config.props.get("rules")):
        if not is_set(mapping(dig(mapping(rule), "destination", "encryptionConfiguration")), "replicaKmsKeyId"):
            yield f"replication {config.name} does not re-encrypt replicas with a key of the DR region"


def _all_dependencies(resource: PolicyResource) -> list[Any]:
    return [*resource.dependencies, *(d for deps in resource.property_dependencies.values() for d in deps)]


@stack_rule(
    id="dr-secondary-protected",
    area="dr",
    types=(RDS_CLUSTER,),
    description="An Aurora Global secondary cluster is encrypted with a key of its region and deletion-protected.",
    severity=HIGH,
    remediation="Set storage_encrypted=True, kms_key_id=<DR database key> and deletion_protection=True.",
    controls=("FSBP RDS.27", "FSBP RDS.7"),
    on_unknown="fail",
    enforcement=ADVISORY,
)
def dr_secondary_protected(cluster: PolicyResource | None, _i: StackIndex, _c: Mapping[str, Any]) -> Iterable[str]:
    assert cluster is not None
    if not is_global_secondary(cluster):
        return
    if not truthy(cluster.props.get("storageEncrypted")) or not is_set(cluster.props, "kmsKeyId"):
        yield f"global secondary {cluster.name} is not encrypted with a customer key (storageEncrypted, kmsKeyId)"
    if not truthy(cluster.props.get("deletionProtection")):
        yield f"global secondary {cluster.name} has no deletion protection"
