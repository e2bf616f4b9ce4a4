"""Backup rules: AWS Backup vault encryption and lock, plan retention, and that every stateful data resource is
in a backup selection."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import (
    AUDIT_LOG_TAG,
    HIGH,
    Param,
    StackIndex,
    as_strings,
    dig,
    is_log_delivery,
    is_set,
    items,
    locked_audit_archive,
    mapping,
    resource_rule,
    stack_rule,
    tag,
)
from .dr import is_global_secondary, is_replica_bucket

VAULT = "aws:backup/vault:Vault"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
# A bucket holding audit records (the CloudTrail bucket) carries this tag; with an Object Lock default retention it
# is its own backup: every version is immutable for the retention, and CloudTrail's digest files prove integrity.
# Data resources AWS Backup can protect (KMS keys and vaults are stateful too, but are protected, not backed up).
BACKED_UP_TYPES = (
    "aws:rds/cluster:Cluster",
    "aws:rds/instance:Instance",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:efs/fileSystem:FileSystem",
    "aws:dynamodb/table:Table",
)


@resource_rule(
    id="backup-vault-cmk",
    area="backup",
    types=(VAULT,),
    description="Backup vaults encrypt recovery points with the platform's backup KMS key.",
    severity=HIGH,
    remediation="Set kms_key_arn to the backup key ARN.",
    controls=("FSBP Backup.1", "CKV_AWS_166"),
    on_unknown="pass",
)
def backup_vault_cmk(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not is_set(props, "kmsKeyArn"):
        yield "kmsKeyArn is not set: recovery points use the AWS-managed aws/backup key"


@resource_rule(
    id="backup-plan-retention",
    area="backup",
    types=(PLAN,),
    description=(
        "Backup plans keep recovery points at least the environment's minimum: the longest-lived rule (and the "
        "longest-lived cross-region copy) reaches it; short-lived hourly rules are fine alongside."
    ),
    severity=HIGH,
    remediation=(
        "Give the daily/weekly/monthly rules (and copy actions) lifecycle.delete_after >= the minimum (pack config "
        "minimumDays)."
    ),
    controls=(),
    on_unknown="fail",
    params={"minimumDays": Param(35, {"type": "integer", "minimum": 1}, "Minimum days a recovery point is kept.")},
)
def backup_plan_retention(_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    rules = [mapping(rule) for rule in items(props.get("rules"))]
    if not rules:
        yield "the plan has no rules"
        return
    minimum = int(config["minimumDays"])
    forever = float("inf")  # no deleteAfter: kept until deleted by hand

    def longest(lifecycles: list[Any]) -> float:
        return max(
            (forever if dig(lc or {}, "deleteAfter") is None else int(dig(lc, "deleteAfter"))) for lc in lifecycles
        )

    kept = longest([rule.get("lifecycle") for rule in rules])
    if kept < minimum:
        yield f"the longest-lived rule keeps recovery points {int(kept)} days; at least {minimum}"
    copies = [mapping(copy).get("lifecycle") for rule in rules for copy in items(rule.get("copyActions"))]
    if copies and longest(copies) < minimum:
        yield f"cross-region copies are kept at most {int(longest(copies))} days; at least {minimum}"


def _covers(selection: PolicyResource, resource: PolicyResource) -> bool:
    """A selection covers a resource by depending on it (its ARN is listed), by ARN pattern, or by tag."""
    if resource.urn in [d.urn for d in selection.dependencies]:
        return True
    arn = resource.props.get("arn")
    for pattern in as_strings(selection.props.get("resources")):
        if pattern == "*" or (isinstance(arn, str) and fnmatch.fnmatchcase(arn, pattern)):
            return True
    for condition in items(selection.props.get("selectionTags")):
        if tag(resource.props, str(mapping(condition).get("key"))) == mapping(condition).get("value"):
            return True
    for condition in items(dig(selection.props, "conditions", 0, "stringEquals")):
        key = str(mapping(condition).get("key", "")).removeprefix("aws:ResourceTag/")
        if tag(resource.props, key) == mapping(condition).get("value"):
            return True
    return False


@stack_rule(
    id="backup-stateful-covered",
    area="backup",
    types=BACKED_UP_TYPES,
    description=(
        "Every stateful data resource (database, bucket, file system, table) is in an AWS Backup selection; access-log "
        f"buckets and Object-Locked audit-log buckets ({AUDIT_LOG_TAG}) are exempt."
    ),
    severity=HIGH,
    remediation="Add the resource's ARN (or a selection tag it carries) to the backup plan's aws.backup.Selection.",
    controls=("FSBP RDS.26", "FSBP DynamoDB.4", "FSBP EFS.2", "CKV2_AWS_8"),
    on_unknown="pass",
)
def backup_stateful_covered(
    resource: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]
) -> Iterable[str]:
    assert resource is not None
    if is_log_delivery(resource.props) or locked_audit_archive(resource, index):
        return  # access logs are retained by lifecycle, audit logs by Object Lock: neither is backed up
    if is_replica_bucket(resource, index) or is_global_secondary(resource):
        return  # a DR replica: its source is backed up, and the recovery points are copied into the DR region
    if not any(_covers(selection, resource) for selection in index.by_type(SELECTION)):
        yield f"{resource.resource_type.rsplit(':', 1)[-1]} {resource.name} is in no backup selection"


@stack_rule(
    id="backup-vault-lock",
    area="backup",
    types=(VAULT,),
    description="Backup vaults are locked (WORM) so recovery points cannot be deleted early, even by an administrator.",
    severity=HIGH,
    remediation=(
        "Declare aws.backup.VaultLockConfiguration(backup_vault_name=v.name, min_retention_days=..., "
        "changeable_for_days=3)."
    ),
    controls=(),
    on_unknown="pass",
)
def backup_vault_lock(vault: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert vault is not None
    if not index.dependents(vault, VAULT_LOCK):
        yield f"vault {vault.name} has no vault lock"


@stack_rule(
    id="backup-plan-present",
    area="backup",
    types=(),
    description="A stack holding stateful data has a backup plan with at least one selection.",
    severity=HIGH,
    remediation=(
        "Enable the backup component: an aws.backup.Plan (hourly/daily/weekly/monthly rules) and its Selection."
    ),
    controls=("FSBP RDS.26", "CKV2_AWS_8"),
    on_unknown="pass",
)
def backup_plan_present(
    _subject: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]
) -> Iterable[str]:
    data = [r for r in index.by_type(*BACKED_UP_TYPES) if not is_log_delivery(r.props)]
    if data and not (index.by_type(PLAN) and index.by_type(SELECTION)):
        yield f"{len(data)} stateful data resource(s) but no backup plan with a selection"
