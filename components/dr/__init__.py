"""DisasterRecovery: what a second region needs to take over, besides the standby built from the platform's own
components (`components/platform.py` composes Identity, Network, Cluster, Add-ons, Observability, Database and
AiApi again with the DR region's provider; Storage builds the replica buckets the same way).

This component owns the pieces that only exist between the two regions:

- the DR backup vault (`backup_vault`, the platform vault's builder: key of the DR region, the same vault lock),
  the destination of the Backup plan's cross-region copy actions;
- S3 cross-region replication of the data buckets (models, data, exports) into their replica buckets: a
  least-privilege replication role, one rule per bucket (delete markers, KMS-encrypted objects re-encrypted with the
  DR region's storage key, replication metrics, Replication Time Control when configured);
- ECR registry replication of the stack's repositories into the DR region, and, when no standby workload declares
  it, the replica repository itself (immutable tags, scan on push, encrypted with the DR storage key).

Children on the primary region (the replication configurations, the registry replication) use the provider passed
in `DisasterRecoveryArgs.source_provider`; everything else uses the component's own (DR region) provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.ai_api import registry
from components.backup import backup_vault
from components.base import PlatformComponent
from components.dr.replication import (
    ReplicatedBucket,
    registry_replication,
    replication_rule,
    replication_statements,
    rule_ids,
)
from config import PROJECT, BackupConfig
from config.api import ApiEcrConfig
from config.dr import DrConfig
from lib.aws import AwsContext
from lib.iam import policy_document, service_trust_policy

__all__ = ["DisasterRecovery", "DisasterRecoveryArgs", "ReplicatedBucket"]


@dataclass(frozen=True)
class DisasterRecoveryArgs:
    """Inputs of `DisasterRecovery`.

    config: the `ai-platform:dr` section (replication time control, copy retention, protect).
    backup: the `ai-platform:backup` section: the DR vault is locked like the platform's vault.
    stack: names the vault (`ai-platform-<stack>-dr-vault`) and the repository prefix.
    source, replica: account/partition/region of the primary and the DR region.
    source_provider: the AWS provider of the primary region (replication rules live on the source buckets).
    buckets: bucket key -> source and replica bucket ARNs (models, data, exports).
    source_bucket_names: bucket key -> source bucket name.
    source_kms_key_arn: the primary region's storage key (source objects).
    replica_kms_key_arn: the DR region's storage key (replica objects, the replica repository).
    vault_kms_key_arn: the DR region's backup key (the DR vault).
    replica_repository: the ai-api's ECR settings when the DR region has no standby workload declaring the
        repository itself (default None: the standby does, or there is no workload).
    replicate_images: replicate the stack's ECR repositories (`ai-platform/<stack>/`) into the DR region.
    """

    config: DrConfig
    backup: BackupConfig
    stack: str
    source: AwsContext
    replica: AwsContext
    source_provider: aws.Provider
    buckets: Mapping[str, ReplicatedBucket]
    source_bucket_names: Mapping[str, pulumi.Input[str]]
    source_kms_key_arn: pulumi.Input[str]
    replica_kms_key_arn: pulumi.Input[str]
    vault_kms_key_arn: pulumi.Input[str]
    replica_repository: ApiEcrConfig | None = None
    replicate_images: bool = True


class DisasterRecovery(PlatformComponent):
    """DR vault, S3 cross-region replication (role and rules), ECR registry replication."""

    area = "dr"

    def __init__(self, name: str, args: DisasterRecoveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        protected = args.backup.model_copy(update={"protect": args.config.protect})
        self.vault = backup_vault(self, f"{name}-vault", kms_key_arn=args.vault_kms_key_arn, config=protected)
        self.replication_role = self._replication_role(name, args)
        on_source = self.child_opts(provider=args.source_provider, depends_on=[*self.waits_for, *self._role_grants])
        for key, bucket in args.buckets.items():
            aws.s3.BucketReplicationConfig(
                f"{name}-{key}-replication",
                bucket=args.source_bucket_names[key],
                role=self.replication_role.arn,
                rules=[
                    replication_rule(
                        key, bucket.replica_arn, args.replica_kms_key_arn,
                        time_control=args.config.replication_time_control,
                    )
                ],
                opts=on_source,
            )  # fmt: skip
        self.repository_prefix = f"{PROJECT}/{args.stack}/"
        if args.replicate_images:
            aws.ecr.ReplicationConfiguration(
                f"{name}-registry-replication",
                replication_configuration=registry_replication(args.replica, self.repository_prefix),
                opts=self.child_opts(provider=args.source_provider),
            )
        self.replica_repository_url: pulumi.Output[str] | None = None
        if args.replica_repository is not None:
            repository = registry.image_repository(
                self, f"{name}-ai-api", stack=args.stack, ecr=args.replica_repository,
                kms_key_arn=args.replica_kms_key_arn,
            )  # fmt: skip
            self.replica_repository_url = repository.repository_url

        self.vault_name = self.vault.name
        self.vault_arn = self.vault.arn
        self.replication_role_arn = self.replication_role.arn
        self.replication_rule_ids = rule_ids(args.buckets)
        self.register_outputs(
            {
                "vault_name": self.vault_name,
                "vault_arn": self.vault_arn,
                "replication_role_arn": self.replication_role_arn,
                "replication_rule_ids": self.replication_rule_ids,
                "repository_prefix": self.repository_prefix,
                "replica_repository_url": self.replica_repository_url,
            }
        )

    def _replication_role(self, name: str, args: DisasterRecoveryArgs) -> aws.iam.Role:
        """The role S3 assumes to replicate (only S3, only for this account), with the least-privilege policy."""
        role = aws.iam.Role(
            f"{name}-replication-role",
            description=f"S3 cross-region replication of {args.stack} into {args.replica.region}",
            assume_role_policy=service_trust_policy(args.source, "s3", source_account_guard=True),
            opts=self.child_opts(),
        )
        keys = sorted(args.buckets)
        pairs = pulumi.Output.all(
            *(args.buckets[key].source_arn for key in keys), *(args.buckets[key].replica_arn for key in keys)
        )
        document = pulumi.Output.all(pairs, args.source_kms_key_arn, args.replica_kms_key_arn).apply(
            lambda values: policy_document(
                replication_statements(
                    args.source,
                    args.replica,
                    list(zip(values[0][: len(keys)], values[0][len(keys) :], strict=True)),
                    values[1],
                    values[2],
                )
            )
        )
        self._role_grants: Sequence[pulumi.Resource] = (
            aws.iam.RolePolicy(
                f"{name}-replication-policy",
                role=role.id,
                policy=pulumi.Output.json_dumps(document),
                opts=self.child_opts(),
            ),
        )
        return role
