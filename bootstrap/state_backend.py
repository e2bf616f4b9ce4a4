"""The platform stacks' Pulumi backend: the state bucket (replicated to the DR region) and the keys.

- `state` key (multi-Region, replica in the DR region): SSE-KMS of the state bucket and of its replica.
- `secrets` key (multi-Region, replica in the DR region): the `awskms://` secrets provider of every platform stack
  (`pulumi stack init --secrets-provider awskms://alias/ai-platform/pulumi-secrets?region=<region>`). A multi-Region
  replica decrypts what its primary encrypted, so in a regional outage the stacks' secrets still open in the DR
  region (`?region=<dr region>`).
- `backup` keys (one per region): the AWS Backup vaults that back up the state bucket and, in the DR region, its
  replica (hourly to monthly points, vault lock: the platform's `Backup` component and schedule).
- `state` bucket: versioned, SSE-KMS with bucket keys, TLS 1.2+ only, public access blocked, ACLs off, lifecycle,
  access-logged to the `state-logs` bucket (SSE-S3: what S3 log delivery writes to), replicated (new objects,
  versions and delete markers) to `state-replica` in the DR region, which logs to `state-logs-replica` there.

Every bucket and key is protected and retained on delete: losing them loses every stack's state or secrets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from bootstrap.settings import StateSettings
from components.base import PlatformComponent
from components.identity import key_policy as platform_key_policy
from components.storage import (
    LOG_DELIVERY_TAG,
    S3_ACCESS_LOG_PREFIX,
    BucketSettings,
    SecureBucket,
    bucket_name,
    bucket_transport_statements,
    lifecycle_rules,
    log_delivery_statements,
    secure_bucket,
)
from config import StorageConfig
from lib.aws import AwsContext
from lib.iam import decrypt_through_service, policy_document, service_trust_policy

KEY_ALIASES = {"state": "alias/ai-platform/pulumi-state", "secrets": "alias/ai-platform/pulumi-secrets"}
KEY_DESCRIPTIONS = {
    "state": "ai-platform Pulumi state bucket (SSE-KMS)",
    "secrets": "ai-platform Pulumi secrets provider (awskms://) of every platform stack",
}
STATE_PREFIX = "ai-platform"  # bucket names: ai-platform-state-<account>-<region>, ai-platform-state-logs-...


def state_bucket_names(aws_ctx: AwsContext) -> tuple[str, str]:
    """The state bucket and its log bucket in `aws_ctx`'s region: `ai-platform-state[-logs]-<account>-<region>`."""
    return bucket_name(STATE_PREFIX, "state", aws_ctx), bucket_name(STATE_PREFIX, "state-logs", aws_ctx)


def state_bucket_arn(aws_ctx: AwsContext) -> str:
    return f"arn:{aws_ctx.partition}:s3:::{state_bucket_names(aws_ctx)[0]}"


def key_policy(aws_ctx: AwsContext) -> dict[str, Any]:
    """The account administers and uses the key through IAM policies (the CI roles' grants say who may)."""
    return policy_document(
        [
            {
                "Sid": "AccountAdministersThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": aws_ctx.root_principal},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    )


def replication_statements(
    source_arn: str, replica_arn: str, source_key: pulumi.Input[str], replica_key: pulumi.Input[str],
    home: AwsContext, dr: AwsContext,
) -> list[dict[str, Any]]:  # fmt: skip
    """What S3 needs to replicate SSE-KMS objects from `source_arn` to `replica_arn` (S3 user guide, "Setting up
    permissions for live replication", with "Replicating encrypted objects")."""
    return [
        {
            "Sid": "ReadReplicationConfiguration",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": source_arn,
        },
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            "Resource": f"{source_arn}/*",
        },
        {
            "Sid": "WriteReplicas",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": f"{replica_arn}/*",
        },
        # Bucket keys: S3 asks KMS with the bucket's ARN as encryption context.
        decrypt_through_service(
            home, "s3", source_key, sid="DecryptSource", encryption_context={"aws:s3:arn": source_arn}
        ),
        {
            "Sid": "EncryptReplicas",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": replica_key,
            "Condition": {
                "StringEquals": {"kms:ViaService": dr.regional_endpoint("s3")},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": replica_arn},
            },
        },
    ]


@dataclass(frozen=True)
class StateBackendArgs:
    """Inputs of `StateBackend`.

    settings: the `ai-platform-bootstrap:state` section. home / dr: the account in the state bucket's region and
    in the DR region. dr_provider: the AWS provider of the DR region (the replicas are created through it).
    """

    settings: StateSettings
    home: AwsContext
    dr: AwsContext
    dr_provider: aws.Provider


class StateBackend(PlatformComponent):
    """State bucket, its replica, their log buckets, and the state and secrets keys with their DR replicas."""

    area = "state"

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        home, dr = args.home, args.dr
        self._dr = args.dr_provider
        self.keys: dict[str, aws.kms.Key] = {}
        self.replica_keys: dict[str, aws.kms.ReplicaKey] = {}
        for purpose in ("state", "secrets"):
            self._key(name, purpose, args)
        # The backup vaults' keys (one per region: a vault and its key live in one region), with the statement
        # letting AWS Backup publish encrypted vault notifications: the platform's backup-key policy.
        self.backup_key_arns: dict[str, pulumi.Output[str]] = {}
        for ctx, suffix, provider in ((home, "", {}), (dr, "-replica", {"provider": self._dr})):
            backup_key = aws.kms.Key(
                f"{name}-backup{suffix}-key",
                description=f"ai-platform Pulumi state backups (AWS Backup vault), {ctx.region}",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=args.settings.kms_deletion_window_days,
                bypass_policy_lockout_safety_check=False,
                policy=json.dumps(platform_key_policy("backup", ctx)),
                opts=self.child_opts(protect=True, retain_on_delete=True, **provider),
            )
            self.backup_key_arns[ctx.region] = backup_key.arn

        lifecycle = StorageConfig(
            noncurrent_version_expiration_days=args.settings.noncurrent_version_expiration_days,
            noncurrent_versions_to_keep=args.settings.noncurrent_versions_to_keep,
            logs_expiration_days=args.settings.logs_expiration_days,
            exports_object_lock=False,
        )
        names = {ctx.region: state_bucket_names(ctx) for ctx in (home, dr)}
        state = self._bucket_pair(
            f"{name}-state", names[home.region], self.keys["state"].arn, lifecycle, home, in_dr=False
        )
        replica = self._bucket_pair(
            f"{name}-state-replica", names[dr.region], self.replica_keys["state"].arn, lifecycle, dr, in_dr=True
        )

        self._replicate(name, state, replica, names, home, dr)

        self.state_bucket_name: pulumi.Output[str] = state.bucket.bucket
        self.state_bucket_arn: pulumi.Output[str] = state.bucket.arn
        self.replica_bucket_name: pulumi.Output[str] = replica.bucket.bucket
        self.replica_bucket_arn: pulumi.Output[str] = replica.bucket.arn
        self.state_key_arn: pulumi.Output[str] = self.keys["state"].arn
        self.replica_state_key_arn: pulumi.Output[str] = self.replica_keys["state"].arn
        self.secrets_key_arn: pulumi.Output[str] = self.keys["secrets"].arn
        self.replica_secrets_key_arn: pulumi.Output[str] = self.replica_keys["secrets"].arn
        self.backend_url: pulumi.Output[str] = pulumi.Output.concat("s3://", state.bucket.bucket)
        self.secrets_provider = f"awskms://{KEY_ALIASES['secrets']}?region={home.region}"
        self.dr_secrets_provider = f"awskms://{KEY_ALIASES['secrets']}?region={dr.region}"
        self.register_outputs(
            {
                "state_bucket_name": self.state_bucket_name,
                "state_bucket_arn": self.state_bucket_arn,
                "replica_bucket_name": self.replica_bucket_name,
                "replica_bucket_arn": self.replica_bucket_arn,
                "state_key_arn": self.state_key_arn,
                "replica_state_key_arn": self.replica_state_key_arn,
                "backup_key_arns": self.backup_key_arns,
                "secrets_key_arn": self.secrets_key_arn,
                "replica_secrets_key_arn": self.replica_secrets_key_arn,
                "backend_url": self.backend_url,
                "secrets_provider": self.secrets_provider,
                "dr_secrets_provider": self.dr_secrets_provider,
            }
        )

    def _replicate(
        self, name: str, state: SecureBucket, replica: SecureBucket, names: dict[str, tuple[str, str]],
        home: AwsContext, dr: AwsContext,
    ) -> None:  # fmt: skip
        """S3 replication of the state bucket (objects, versions, delete markers) into its DR-region replica."""
        role = aws.iam.Role(
            f"{name}-replication-role",
            description="S3 replication of the Pulumi state bucket to the DR region",
            assume_role_policy=service_trust_policy(home, "s3", source_account_guard=True),
            max_session_duration=3600,
            opts=self.child_opts(),
        )
        source_arn, replica_arn = (f"arn:{home.partition}:s3:::{names[c.region][0]}" for c in (home, dr))
        grant = aws.iam.RolePolicy(
            f"{name}-replication-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                policy_document(
                    replication_statements(
                        source_arn, replica_arn, self.keys["state"].arn, self.replica_keys["state"].arn, home, dr
                    )
                )
            ),
            opts=self.child_opts(),
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-state-replication",
            bucket=state.bucket.id,
            role=role.arn,
            rules=[
                {
                    "id": "state-to-dr-region",
                    "status": "Enabled",
                    "priority": 1,
                    "filter": {"prefix": ""},
                    "delete_marker_replication": {"status": "Enabled"},
                    "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                    "destination": {
                        "bucket": replica.bucket.arn,
                        "storage_class": "STANDARD",
                        "encryption_configuration": {"replica_kms_key_id": self.replica_keys["state"].arn},
                    },
                }
            ],
            # S3 refuses a replication rule until both buckets are versioned and the role may replicate.
            opts=self.child_opts(depends_on=[state.versioning, replica.versioning, grant]),
        )

    def _key(self, name: str, purpose: str, args: StateBackendArgs) -> None:
        """A multi-Region key with its alias, and its replica (same alias) in the DR region."""
        window = args.settings.kms_deletion_window_days
        key = aws.kms.Key(
            f"{name}-{purpose}-key",
            description=KEY_DESCRIPTIONS[purpose],
            multi_region=True,
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=window,
            bypass_policy_lockout_safety_check=False,
            policy=json.dumps(key_policy(args.home)),
            opts=self.child_opts(protect=True, retain_on_delete=True),
        )
        aws.kms.Alias(
            f"{name}-{purpose}-alias", name=KEY_ALIASES[purpose], target_key_id=key.key_id, opts=self.child_opts()
        )
        replica = aws.kms.ReplicaKey(
            f"{name}-{purpose}-replica-key",
            primary_key_arn=key.arn,
            description=f"{KEY_DESCRIPTIONS[purpose]}, {args.dr.region} replica",
            deletion_window_in_days=window,
            bypass_policy_lockout_safety_check=False,
            policy=json.dumps(key_policy(args.dr)),
            opts=self.child_opts(provider=self._dr, protect=True, retain_on_delete=True),
        )
        aws.kms.Alias(
            f"{name}-{purpose}-replica-alias",
            name=KEY_ALIASES[purpose],
            target_key_id=replica.key_id,
            opts=self.child_opts(provider=self._dr),
        )
        self.keys[purpose], self.replica_keys[purpose] = key, replica

    def _bucket_pair(
        self, name: str, names: tuple[str, str], key_arn: pulumi.Input[str], lifecycle: StorageConfig,
        aws_ctx: AwsContext, *, in_dr: bool,
    ) -> SecureBucket:  # fmt: skip
        """A state bucket (`name`) and the log bucket (`<name>-logs`) it logs to, in `aws_ctx`'s region (through
        the DR provider when `in_dr`)."""
        provider = {"provider": self._dr} if in_dr else {}

        def child_opts(**kwargs: Any) -> pulumi.ResourceOptions:
            return self.child_opts(**provider, **kwargs)

        state_name, logs_name = names
        state_arn, logs_arn = (f"arn:{aws_ctx.partition}:s3:::{n}" for n in names)
        delivery = [
            s
            for s in log_delivery_statements(logs_arn, [state_arn], aws_ctx)
            if s["Sid"] == "S3ServerAccessLogDelivery"
        ]
        logs = secure_bucket(
            f"{name}-logs",
            BucketSettings(
                bucket=logs_name,
                kms_key_arn=None,
                statements=delivery + bucket_transport_statements(logs_arn),
                lifecycle_rules=lifecycle_rules(lifecycle, logs=True),
                tags={"Name": logs_name, "purpose": "state-logs", **LOG_DELIVERY_TAG},
                protect=True,
            ),
            child_opts,
        )
        state = secure_bucket(
            name,
            BucketSettings(
                bucket=state_name,
                kms_key_arn=key_arn,
                statements=bucket_transport_statements(state_arn),
                lifecycle_rules=lifecycle_rules(lifecycle, logs=False),
                tags={"Name": state_name, "purpose": "pulumi-state"},
                protect=True,
            ),
            child_opts,
        )
        aws.s3.BucketLogging(
            f"{name}-logging",
            bucket=state.bucket.id,
            target_bucket=logs.bucket.id,
            target_prefix=f"{S3_ACCESS_LOG_PREFIX}state/",
            target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}},
            # With ACLs disabled, only the log bucket's policy lets S3 log delivery write: it must come first.
            opts=child_opts(depends_on=[logs.policy]),
        )
        return state
