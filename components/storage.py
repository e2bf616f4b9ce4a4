"""Storage: the platform's S3 buckets — model artifacts, data, access logs and database exports.

Every bucket is versioned, owner-enforced (no ACLs), closed to the public by all four public-access-block flags,
reachable only over TLS 1.2+, lifecycle-managed (cheaper tiers for cold objects, expiry of superseded versions,
abort of abandoned multipart uploads) and logs its access to the `logs` bucket (except that bucket itself: logging
into itself would loop). Data buckets are encrypted with the
platform's storage key (SSE-KMS with bucket keys, so KMS is called once per bucket-key period, not per object).

The `logs` bucket is the documented exception: S3 server access logs and ALB access logs can only be delivered to a
bucket encrypted with SSE-S3 (AES256), so it uses SSE-S3 and carries the tag `ai-platform/log-delivery: "true"`,
which the policy pack accepts as the reason. Its policy lets S3 log delivery (prefix `s3/`) and Elastic Load
Balancing (prefix `alb/`) write to it, and nobody else.

In prod the exports bucket has Object Lock (WORM) with a default retention, so a database export cannot be
deleted or overwritten during that period, even by an administrator in compliance mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from config import StorageConfig
from lib.aws import AwsContext
from lib.iam import deny_insecure_transport, policy_document

BucketKey = Literal["models", "data", "logs", "exports"]
# `logs` first: every other bucket logs into it.
BUCKET_KEYS: tuple[BucketKey, ...] = ("logs", "models", "data", "exports")
# Buckets whose content is platform state, backed up by AWS Backup (the logs bucket is not).
DATA_BUCKET_KEYS: tuple[BucketKey, ...] = ("models", "data", "exports")
BUCKET_PURPOSES: dict[BucketKey, str] = {
    "models": "model artifacts (weights, tokenizers, evaluation reports)",
    "data": "datasets and documents the embeddings are computed from",
    "logs": "S3 server access logs and ALB access logs",
    "exports": "database exports and snapshots exported to S3",
}
LOG_DELIVERY_TAG = {"ai-platform/log-delivery": "true"}
S3_ACCESS_LOG_PREFIX = "s3/"
ALB_ACCESS_LOG_PREFIX = "alb"

# Regions that existed before August 2022 deliver ALB access logs from a regional Elastic Load Balancing account;
# newer regions use the `logdelivery.elasticloadbalancing.amazonaws.com` service principal (ELB user guide,
# "Enable access logs for your Application Load Balancer", step 2).
ELB_LOG_DELIVERY_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580", "ap-south-1": "718504428378", "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864", "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-south-1": "635631232127",
    "eu-west-3": "009996457667", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517", "us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993", "cn-northwest-1": "037604701340",
}  # fmt: skip


def bucket_name(prefix: str, key: str, aws_ctx: AwsContext) -> str:
    """`<prefix>-<key>-<account>-<region>`: globally unique and readable; raises if S3 would refuse it."""
    name = f"{prefix}-{key}-{aws_ctx.account_id}-{aws_ctx.region}"
    if len(name) > 63 or not re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", name):
        raise ValueError(
            f"bucket name {name!r} is not valid for S3; allowed: 3-63 lowercase letters, digits and hyphens "
            f"(shorten the stack name)"
        )
    return name


def bucket_transport_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """Statements denying any request not made over TLS, or made over TLS older than 1.2 (FSBP S3.5)."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return [
        deny_insecure_transport("s3:*", resources, sid="DenyInsecureTransport"),
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]


def log_delivery_statements(
    logs_bucket_arn: str, source_bucket_arns: list[str], aws_ctx: AwsContext
) -> list[dict[str, Any]]:
    """Who may write into the logs bucket: S3 server access logging for our buckets (under `s3/`) and Elastic Load
    Balancing for this account's load balancers (under `alb/AWSLogs/<account>/`)."""
    elb_account = ELB_LOG_DELIVERY_ACCOUNTS.get(aws_ctx.region)
    elb_principal = (
        {"AWS": f"arn:{aws_ctx.partition}:iam::{elb_account}:root"}
        if elb_account
        else {"Service": aws_ctx.service_principal("logdelivery.elasticloadbalancing")}
    )
    return [
        {
            "Sid": "S3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": aws_ctx.service_principal("logging.s3")},
            "Action": "s3:PutObject",
            "Resource": f"{logs_bucket_arn}/{S3_ACCESS_LOG_PREFIX}*",
            "Condition": {
                "ArnLike": {"aws:SourceArn": source_bucket_arns},
                "StringEquals": {"aws:SourceAccount": aws_ctx.account_id},
            },
        },
        {
            "Sid": "AlbAccessLogDelivery",
            "Effect": "Allow",
            "Principal": elb_principal,
            "Action": "s3:PutObject",
            "Resource": f"{logs_bucket_arn}/{ALB_ACCESS_LOG_PREFIX}/AWSLogs/{aws_ctx.account_id}/*",
        },
    ]


@dataclass(frozen=True)
class BucketSettings:
    """One bucket for `secure_bucket`.

    bucket: the S3 name. kms_key_arn: SSE-KMS key (bucket keys on); None for a log-delivery bucket (SSE-S3, which is
    all S3 and ELB log delivery writes to). statements: its bucket-policy statements (the TLS statements of
    `bucket_transport_statements` among them). protect: `protect` and `retainOnDelete` on the bucket.
    object_lock: Object Lock enabled at creation (its default retention is the caller's).
    """

    bucket: str
    kms_key_arn: pulumi.Input[str] | None
    statements: list[dict[str, Any]]
    lifecycle_rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]
    tags: dict[str, str]
    protect: bool
    object_lock: bool = False


@dataclass(frozen=True)
class SecureBucket:
    """What `secure_bucket` declared that others order themselves after."""

    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    policy: aws.s3.BucketPolicy


def secure_bucket(
    name: str, settings: BucketSettings, child_opts: Callable[..., pulumi.ResourceOptions]
) -> SecureBucket:
    """A bucket `name` with its companions `<name>-ownership`, `-public-access-block`, `-encryption`, `-versioning`,
    `-policy` and `-lifecycle`: no ACLs, no public access by any route, encrypted (SSE-C refused), versioned,
    TLS 1.2+ only, lifecycle-managed. `child_opts(**kwargs)` gives each child its options (parent, provider).
    Shared by the platform's buckets and the bootstrap project's state buckets."""
    bucket = aws.s3.Bucket(
        name,
        bucket=settings.bucket,
        force_destroy=False,
        object_lock_enabled=True if settings.object_lock else None,
        tags=settings.tags,
        opts=child_opts(protect=settings.protect, retain_on_delete=settings.protect),
    )
    # No ACLs (the bucket owner owns every object) and no public access by any route (FSBP S3.8, S3.12).
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child_opts()
    )
    access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child_opts(),
    )
    _encrypt(name, bucket, settings.kms_key_arn, child_opts)
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child_opts()
    )
    policy = aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=pulumi.Output.json_dumps(policy_document(settings.statements)),
        # The access block must exist first, so the policy is judged against it (never briefly public).
        opts=child_opts(depends_on=[access_block]),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=settings.lifecycle_rules,
        # Rules on noncurrent versions only make sense once versioning is on.
        opts=child_opts(depends_on=[versioning]),
    )
    return SecureBucket(bucket=bucket, versioning=versioning, policy=policy)


def _encrypt(
    name: str,
    bucket: aws.s3.Bucket,
    kms_key_arn: pulumi.Input[str] | None,
    child_opts: Callable[..., pulumi.ResourceOptions],
) -> None:
    """SSE-KMS with `kms_key_arn` and bucket keys; SSE-S3 without a key (log-delivery buckets, an AWS requirement).
    Uploads with customer-provided keys (SSE-C) are refused: the owner must be able to read its data."""
    default: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgsDict
    if kms_key_arn is None:
        default = {"sse_algorithm": "AES256"}
        bucket_key = None
    else:
        default = {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}
        bucket_key = True
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": default,
                "bucket_key_enabled": bucket_key,
                "blocked_encryption_types": ["SSE-C"],
            }
        ],
        opts=child_opts(),
    )


def lifecycle_rules(config: StorageConfig, *, logs: bool) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    """Abort stale multipart uploads; expire superseded versions (keeping the newest few) and orphaned delete
    markers; move current objects to cheaper tiers; a `logs` bucket's objects expire after `logs_expiration_days`."""
    whole_bucket: aws.s3.BucketLifecycleConfigurationRuleFilterArgsDict = {"prefix": ""}
    noncurrent: aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgsDict = {
        "noncurrent_days": config.noncurrent_version_expiration_days
    }
    if config.noncurrent_versions_to_keep:
        noncurrent["newer_noncurrent_versions"] = config.noncurrent_versions_to_keep
    rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
        {
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": whole_bucket,
            "abort_incomplete_multipart_upload": {"days_after_initiation": config.abort_incomplete_multipart_days},
        },
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": whole_bucket,
            "noncurrent_version_expiration": noncurrent,
            "expiration": {"expired_object_delete_marker": True},
        },
    ]
    tiers = [(config.infrequent_access_after_days, "STANDARD_IA"), (config.glacier_ir_after_days, "GLACIER_IR")]
    if logs:
        # A transition on or after the expiry day is refused by S3, and pointless.
        tiers = [(days, tier) for days, tier in tiers if days < config.logs_expiration_days]
        rules.append(
            {
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": whole_bucket,
                "expiration": {"days": config.logs_expiration_days},
            }
        )
    transitions: list[aws.s3.BucketLifecycleConfigurationRuleTransitionArgsDict] = [
        {"days": days, "storage_class": tier} for days, tier in tiers
    ]
    if transitions:
        rules.append(
            {"id": "tier-down-current-objects", "status": "Enabled", "filter": whole_bucket, "transitions": transitions}
        )
    return rules


@dataclass(frozen=True)
class StorageArgs:
    """Inputs of `Storage`.

    config: the `ai-platform:storage` section (lifecycle, Object Lock, protect).
    kms_key_arn: the platform's storage key; encrypts every bucket but `logs` (SSE-KMS, bucket keys).
    bucket_name_prefix: first part of every bucket name, e.g. `ai-platform-prod`.
    aws: account/partition/region, for names, ARNs and service principals.
    log_source_bucket_arns: other buckets (the CloudTrail bucket) whose access logs the logs bucket accepts under
        `s3/`. Default: none.
    """

    config: StorageConfig
    kms_key_arn: pulumi.Input[str]
    bucket_name_prefix: str
    aws: AwsContext
    log_source_bucket_arns: tuple[str, ...] = ()


class Storage(PlatformComponent):
    """The four platform buckets, each with versioning, encryption, access block, TLS policy, lifecycle, logging."""

    area = "storage"

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config, aws_ctx = args.config, args.aws
        names = {key: bucket_name(args.bucket_name_prefix, key, aws_ctx) for key in BUCKET_KEYS}
        arns = {key: f"arn:{aws_ctx.partition}:s3:::{bucket}" for key, bucket in names.items()}

        self.buckets: dict[BucketKey, aws.s3.Bucket] = {}
        policies: dict[BucketKey, aws.s3.BucketPolicy] = {}
        versionings: list[aws.s3.BucketVersioning] = []
        for key in BUCKET_KEYS:
            locked = key == "exports" and config.exports_object_lock
            statements = bucket_transport_statements(arns[key])
            if key == "logs":
                sources = [arn for source, arn in arns.items() if source != "logs"] + list(args.log_source_bucket_arns)
                statements = log_delivery_statements(arns[key], sources, aws_ctx) + statements
            secured = secure_bucket(
                f"{name}-{key}",
                BucketSettings(
                    bucket=names[key],
                    kms_key_arn=None if key == "logs" else args.kms_key_arn,
                    statements=statements,
                    lifecycle_rules=lifecycle_rules(config, logs=key == "logs"),
                    tags={"Name": names[key], "purpose": key, **(LOG_DELIVERY_TAG if key == "logs" else {})},
                    # Retain in the account even if the stack is deleted outside dev: buckets hold state.
                    protect=config.protect,
                    object_lock=locked,
                ),
                self.child_opts,
            )
            self.buckets[key], policies[key] = secured.bucket, secured.policy
            versionings.append(secured.versioning)
            if locked:
                aws.s3.BucketObjectLockConfiguration(
                    f"{name}-{key}-object-lock",
                    bucket=secured.bucket.id,
                    rule={
                        "default_retention": {
                            "mode": config.exports_object_lock_mode,
                            "days": config.exports_object_lock_days,
                        }
                    },
                    opts=self.child_opts(depends_on=[secured.versioning]),
                )

        # Access logging once the logs bucket (and its delivery policy) exists. The logs bucket itself does not log:
        # S3 documents that a bucket delivering its access logs to itself produces an endless loop of log records
        # (each delivery is an access that is logged and delivered in turn), and the policy pack exempts
        # log-delivery buckets from FSBP S3.9 for that reason.
        for key, bucket in self.buckets.items():
            if key == "logs":
                continue
            aws.s3.BucketLogging(
                f"{name}-{key}-logging",
                bucket=bucket.id,
                target_bucket=self.buckets["logs"].id,
                target_prefix=f"{S3_ACCESS_LOG_PREFIX}{key}/",
                target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}},
                # With ACLs disabled, only the logs bucket's policy lets S3 log delivery write: it must come first.
                opts=self.child_opts(depends_on=[policies["logs"]]),
            )

        self.bucket_names: dict[BucketKey, pulumi.Output[str]] = {k: b.bucket for k, b in self.buckets.items()}
        self.bucket_arns: dict[BucketKey, pulumi.Output[str]] = {k: b.arn for k, b in self.buckets.items()}
        self.data_bucket_arns: dict[str, pulumi.Output[str]] = {k: self.bucket_arns[k] for k in DATA_BUCKET_KEYS}
        self.logs_bucket_name = self.bucket_names["logs"]
        self.alb_access_log_prefix = ALB_ACCESS_LOG_PREFIX
        # What replication waits for: S3 refuses a replication rule from or into a bucket without versioning.
        self.versioning_ready: tuple[pulumi.Resource, ...] = tuple(versionings)
        self.register_outputs(
            {
                "bucket_names": self.bucket_names,
                "bucket_arns": self.bucket_arns,
                "data_bucket_arns": self.data_bucket_arns,
                "logs_bucket_name": self.logs_bucket_name,
                "alb_access_log_prefix": self.alb_access_log_prefix,
                "versioning_ready": [resource.urn for resource in self.versioning_ready],
            }
        )
