"""AuditTrail: the account's CloudTrail trail, the locked bucket it delivers to, and its CloudWatch Logs copy.

One multi-region trail with global service events (IAM, STS, CloudFront) and log-file integrity validation
(CIS 3.1/3.2, FSBP CloudTrail.1/.4), its log files encrypted with the `audit` key (CIS 3.5, CloudTrail.2). The
bucket is dedicated: Object Lock with a default retention (COMPLIANCE in prod: nobody deletes an audit record early),
versioned, SSE-KMS with the audit key, closed to the public, TLS only, its access logged to the platform's logs
bucket (CIS 3.4/3.6), and a lifecycle that tiers old log files down and expires them after the retention. Only
this trail may write to it (`aws:SourceArn`). The CloudWatch Logs copy (CIS 3.4, CloudTrail.5) is what an
investigation searches; CloudTrail writes it through a role limited to that log group.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.security.names import AUDIT_LOG_TAG, audit_bucket_arn, audit_bucket_name, trail_arn, trail_name
from components.storage import S3_ACCESS_LOG_PREFIX, bucket_transport_statements
from config.security import CloudTrailConfig
from lib.aws import AwsContext
from lib.iam import policy_document, service_trust_policy

ACCESS_LOG_PREFIX = f"{S3_ACCESS_LOG_PREFIX}audit/"


@dataclass(frozen=True)
class AuditTrailArgs:
    """Inputs of `AuditTrail`.

    config: the `ai-platform:security.cloudtrail` section (Object Lock, lifecycle, log retention, data events).
    stack: names the trail and its bucket.
    aws: account, partition and region (ARNs, service principals).
    audit_kms_key_arn: the `audit` key (its policy lets only this trail use it), encrypting log files and bucket.
    logs_kms_key_arn: the platform's logs key, encrypting the CloudWatch Logs copy.
    logs_bucket_name: the platform's log-delivery bucket, receiving the trail bucket's access logs.
    data_bucket_arns: buckets whose object-level reads and writes the trail records (with `s3_data_events`).
    """

    config: CloudTrailConfig
    stack: str
    aws: AwsContext
    audit_kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    logs_bucket_name: pulumi.Input[str]
    data_bucket_arns: Mapping[str, pulumi.Input[str]]


def trail_bucket_policy(bucket_arn: str, trail: str, aws_ctx: AwsContext) -> dict[str, Any]:
    """CloudTrail's documented bucket policy, limited to this one trail (`aws:SourceArn`) writing under
    `AWSLogs/<account>/`, plus the TLS-only statements of every platform bucket."""
    cloudtrail = {"Service": aws_ctx.service_principal("cloudtrail")}
    source = {"aws:SourceArn": trail}
    return policy_document(
        [
            {
                "Sid": "CloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": cloudtrail,
                "Action": "s3:GetBucketAcl",
                "Resource": bucket_arn,
                "Condition": {"StringEquals": source},
            },
            {
                "Sid": "CloudTrailWrite",
                "Effect": "Allow",
                "Principal": cloudtrail,
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/AWSLogs/{aws_ctx.account_id}/*",
                "Condition": {"StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}},
            },
            *bucket_transport_statements(bucket_arn),
        ]
    )


def event_selectors(data_bucket_arns: Sequence[pulumi.Input[str]]) -> list[dict[str, Any]]:
    """Advanced event selectors: every management event, and (given buckets) the object-level data events of those
    buckets only. Never the trail bucket or the logs bucket: recording their writes would log the logging. The
    selectors' shape is known at preview even while the buckets' ARNs are not (the gate judges it then)."""
    selectors: list[dict[str, Any]] = [
        {"name": "management-events", "field_selectors": [{"field": "eventCategory", "equals": ["Management"]}]}
    ]
    if data_bucket_arns:
        selectors.append(
            {
                "name": "platform-bucket-objects",
                "field_selectors": [
                    {"field": "eventCategory", "equals": ["Data"]},
                    {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                    {
                        "field": "resources.ARN",
                        "starts_withs": [pulumi.Output.concat(arn, "/") for arn in data_bucket_arns],
                    },
                ],
            }
        )
    return selectors


class AuditTrail(PlatformComponent):
    """The account's multi-region CloudTrail trail, its Object-Locked bucket and its CloudWatch Logs copy."""

    area = "security"

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config, aws_ctx = args.config, args.aws
        bucket_name, bucket_arn = audit_bucket_name(args.stack, aws_ctx), audit_bucket_arn(args.stack, aws_ctx)
        this_trail = trail_arn(args.stack, aws_ctx)

        self.bucket, bucket_policy = self._bucket(name, bucket_name, bucket_arn, this_trail, args)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/cloudtrail/{trail_name(args.stack)}",
            retention_in_days=config.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            opts=self.child_opts(),
        )
        role, role_policy = self._logs_role(name, args)
        self.trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=trail_name(args.stack),
            s3_bucket_name=self.bucket.id,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            kms_key_id=args.audit_kms_key_arn,
            cloud_watch_logs_group_arn=self.log_group.arn.apply(lambda arn: f"{arn}:*"),
            cloud_watch_logs_role_arn=role.arn,
            advanced_event_selectors=event_selectors(
                list(args.data_bucket_arns.values()) if config.s3_data_events else []
            ),
            # CloudTrail checks at creation that it may write to the bucket and the log group.
            opts=self.child_opts(depends_on=[bucket_policy, role_policy]),
        )

        self.trail_arn = self.trail.arn
        self.trail_name = self.trail.name
        self.bucket_name = self.bucket.bucket
        self.log_group_name = self.log_group.name
        self.register_outputs(
            {
                "trail_arn": self.trail_arn,
                "trail_name": self.trail_name,
                "bucket_name": self.bucket_name,
                "log_group_name": self.log_group_name,
            }
        )

    def _bucket(
        self, name: str, bucket_name: str, bucket_arn: str, this_trail: str, args: AuditTrailArgs
    ) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        """The trail bucket and its companions; returns it with its policy (the trail waits for the policy)."""
        config = args.config
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket_name,
            force_destroy=False,
            object_lock_enabled=True,
            tags={"Name": bucket_name, "purpose": "audit", **AUDIT_LOG_TAG},
            # Audit records outlive any stack: never deleted with it, in any environment.
            opts=self.child_opts(protect=True, retain_on_delete=True),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-bucket-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=self.child_opts(),
        )
        access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-bucket-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self.child_opts(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": args.audit_kms_key_arn,
                    },
                    "bucket_key_enabled": True,
                    "blocked_encryption_types": ["SSE-C"],
                }
            ],
            opts=self.child_opts(),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-bucket-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=self.child_opts(),
        )
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-bucket-object-lock",
            bucket=bucket.id,
            rule={"default_retention": {"mode": config.object_lock_mode, "days": config.object_lock_days}},
            opts=self.child_opts(depends_on=[versioning]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket-lifecycle",
            bucket=bucket.id,
            rules=self._lifecycle_rules(config),
            opts=self.child_opts(depends_on=[versioning]),
        )
        policy = aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.id,
            policy=json.dumps(trail_bucket_policy(bucket_arn, this_trail, args.aws)),
            opts=self.child_opts(depends_on=[access_block]),
        )
        aws.s3.BucketLogging(
            f"{name}-bucket-logging",
            bucket=bucket.id,
            target_bucket=args.logs_bucket_name,
            target_prefix=ACCESS_LOG_PREFIX,
            target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}},
            # The logs bucket's policy admits this bucket as a source: the platform orders this component after it.
            opts=self.child_opts(depends_on=list(self.waits_for)),
        )
        return bucket, policy

    @staticmethod
    def _lifecycle_rules(config: CloudTrailConfig) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
        """Tier log files to GLACIER_IR, expire them after `expiration_days` (S3 waits for each version's Object
        Lock to end), clean up superseded versions and abandoned uploads."""
        whole_bucket: aws.s3.BucketLifecycleConfigurationRuleFilterArgsDict = {"prefix": ""}
        return [
            {
                "id": "abort-incomplete-multipart-uploads",
                "status": "Enabled",
                "filter": whole_bucket,
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            },
            {
                "id": "tier-down-log-files",
                "status": "Enabled",
                "filter": whole_bucket,
                "transitions": [{"days": config.glacier_ir_after_days, "storage_class": "GLACIER_IR"}],
            },
            {
                "id": "expire-log-files",
                "status": "Enabled",
                "filter": whole_bucket,
                "expiration": {"days": config.expiration_days},
                "noncurrent_version_expiration": {"noncurrent_days": config.object_lock_days},
            },
        ]

    def _logs_role(self, name: str, args: AuditTrailArgs) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The role CloudTrail assumes to write the CloudWatch Logs copy: create streams in, and put events into,
        that one log group."""
        role = aws.iam.Role(
            f"{name}-logs-role",
            description=f"CloudTrail writes trail {trail_name(args.stack)} to CloudWatch Logs",
            assume_role_policy=service_trust_policy(args.aws, "cloudtrail", source_account_guard=True),
            max_session_duration=3600,
            opts=self.child_opts(),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-logs-policy",
            role=role.id,
            policy=self.log_group.arn.apply(
                lambda arn: json.dumps(
                    policy_document(
                        [
                            {
                                # CloudTrail names its streams <account>_CloudTrail_<source region> (CloudTrail user
                                # guide, "Sending events to CloudWatch Logs").
                                "Sid": "WriteTrailLogStreams",
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": f"{arn}:log-stream:{args.aws.account_id}_CloudTrail_*",
                            },
                        ]
                    )
                )
            ),
            opts=self.child_opts(),
        )
        return role, policy
