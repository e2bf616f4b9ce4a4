"""Backup: one AWS Backup vault and plan protecting the platform's state (Aurora and the data buckets).

The plan's rules follow the platform's schedule: hourly (short retention, for operator mistakes), daily (with
continuous backup / point-in-time recovery for Aurora and S3, the resource types AWS supports it for), weekly and
monthly (monthly points move to cold storage where the resource type supports it). Retention comes from config.
The vault is encrypted with the platform's backup key; backup and restore events go to a KMS-encrypted SNS topic;
in prod a vault lock (compliance mode) makes recovery points immutable, even for an administrator.

Cross-region copy (disaster recovery): with `copy_destination_vault_arn` (the DR vault, `components/dr/`), every
rule copies each recovery point into that vault, kept `copy_retention_days` (default: the rule's own retention).
Hourly points are copied too: they are what bounds the data lost with a region to an hour under the
`backup-restore` strategy (`python -m ops dr plan`). The vault itself (key, lock) is `backup_vault`, which the DR
vault is built with too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from config import BackupConfig
from lib.aws import AwsContext
from lib.iam import KEY_USE_ACTIONS, account_manages_topic, deny_insecure_transport, service_trust_policy

# AWS managed policies for the AWS Backup service role: snapshots/restores of AWS resources, and of S3 buckets.
SERVICE_ROLE_POLICIES: tuple[str, ...] = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)
# What the backup role does with the vault key and the keys of the resources it copies (no key management).
# Vault events worth a notification: outcomes, failures and changes to recovery points (not every job start).
VAULT_EVENTS: tuple[str, ...] = (
    "BACKUP_JOB_COMPLETED",
    "COPY_JOB_FAILED",
    "RESTORE_JOB_COMPLETED",
    "RECOVERY_POINT_MODIFIED",
    "S3_BACKUP_OBJECT_FAILED",
    "S3_RESTORE_OBJECT_FAILED",
)


def rule_lifecycle(rule: str, config: BackupConfig) -> aws.backup.PlanRuleLifecycleArgsDict:
    """Retention (and for monthly points the cold-storage transition) of one rule, from config."""
    lifecycle: aws.backup.PlanRuleLifecycleArgsDict = {"delete_after": config.retentions()[f"{rule}_retention_days"]}
    if rule == "monthly" and config.monthly_cold_storage_after_days is not None:
        lifecycle["cold_storage_after"] = config.monthly_cold_storage_after_days
        lifecycle["opt_in_to_archive_for_supported_resources"] = True
    return lifecycle


def plan_rules(
    vault_name: pulumi.Input[str],
    config: BackupConfig,
    copy_destination_vault_arn: pulumi.Input[str] | None,
    copy_retention_days: int | None = None,
) -> list[aws.backup.PlanRuleArgsDict]:
    """The plan's rules; with a copy destination, the copied rules also copy each point there (kept
    `copy_retention_days`, else the rule's own lifecycle)."""
    rules = []
    for spec in config.jobs():
        lifecycle = rule_lifecycle(spec.name, config)
        rule: aws.backup.PlanRuleArgsDict = {
            "rule_name": spec.name,
            "target_vault_name": vault_name,
            "schedule": spec.schedule,
            "schedule_expression_timezone": "Etc/UTC",
            "start_window": spec.start_window_minutes,
            "completion_window": spec.completion_window_minutes,
            "lifecycle": lifecycle,
            "recovery_point_tags": {"backup-rule": spec.name},
        }
        if spec.name == "daily" and config.continuous_backup:
            rule["enable_continuous_backup"] = True
        if copy_destination_vault_arn is not None and spec.copied:
            copy_lifecycle = lifecycle if copy_retention_days is None else {"delete_after": copy_retention_days}
            rule["copy_actions"] = [{"destination_vault_arn": copy_destination_vault_arn, "lifecycle": copy_lifecycle}]
        rules.append(rule)
    return rules


def backup_vault(
    owner: PlatformComponent, name: str, *, kms_key_arn: pulumi.Input[str], config: BackupConfig
) -> aws.backup.Vault:
    """A vault named `name` (child `<name>`), encrypted with `kms_key_arn`, locked as `config.vault_lock_mode` says
    (child `<name>-lock`), protected and retained as `config.protect` says. The platform's vault and the DR vault."""
    vault = aws.backup.Vault(
        name,
        name=name,
        kms_key_arn=kms_key_arn,
        force_destroy=False,  # a vault holding recovery points is never deleted with them
        opts=owner.child_opts(protect=config.protect, retain_on_delete=config.protect),
    )
    if config.vault_lock_mode != "none":
        aws.backup.VaultLockConfiguration(
            f"{name}-lock",
            backup_vault_name=vault.name,
            min_retention_days=config.vault_lock_min_retention_days,
            max_retention_days=config.vault_lock_max_retention_days,
            # Compliance mode: after this grace period nobody (root included) can remove the lock or delete a
            # recovery point early. Governance mode (no grace period) can be lifted with IAM permission.
            changeable_for_days=(
                config.vault_lock_changeable_for_days if config.vault_lock_mode == "compliance" else None
            ),
            opts=owner.child_opts(),
        )
    return vault


@dataclass(frozen=True)
class BackupArgs:
    """Inputs of `Backup`.

    config: the `ai-platform:backup` section (retention per rule, cold storage, continuous backup, vault lock).
    kms_key_arn: the platform's backup key (vault and notification topic).
    protected_resources: stable key -> ARN of each resource the plan covers (`database`, `models`, `data`, ...).
    source_kms_key_arns: keys encrypting the protected resources (storage, database): the backup role must read
        with them to copy S3 objects and Aurora snapshots into the vault.
    aws: account/partition/region, for ARNs and service principals.
    copy_destination_vault_arn: a vault in another region (or account) receiving copies of the copied rules'
        points (every rule of the schedule, hourly included); None (default): no copies.
    copy_destination_kms_key_arn: the key of that vault: the backup role encrypts the copies with it.
    copy_retention_days: how long the copies are kept (default None: as long as the rule's own points).
    """

    config: BackupConfig
    kms_key_arn: pulumi.Input[str]
    protected_resources: Mapping[str, pulumi.Input[str]]
    source_kms_key_arns: Sequence[pulumi.Input[str]]
    aws: AwsContext
    copy_destination_vault_arn: pulumi.Input[str] | None = None
    copy_destination_kms_key_arn: pulumi.Input[str] | None = None
    copy_retention_days: int | None = None


class Backup(PlatformComponent):
    """AWS Backup vault (customer key, optional lock), plan, selection, service role and notifications."""

    area = "backup"

    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config = args.config

        self.vault = backup_vault(self, f"{name}-vault", kms_key_arn=args.kms_key_arn, config=config)
        self._notifications(name, args)
        self.role = self._service_role(name, args)

        self.plan = aws.backup.Plan(
            f"{name}-plan",
            name=f"{name}-plan",
            rules=plan_rules(self.vault.name, config, args.copy_destination_vault_arn, args.copy_retention_days),
            opts=self.child_opts(),
        )
        self.selection = aws.backup.Selection(
            f"{name}-selection",
            name=f"{name}-platform-state",
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            resources=list(args.protected_resources.values()),
            opts=self.child_opts(),
        )

        self.vault_name = self.vault.name
        self.vault_arn = self.vault.arn
        self.plan_id = self.plan.id
        self.role_arn = self.role.arn
        self.register_outputs(
            {
                "vault_name": self.vault_name,
                "vault_arn": self.vault_arn,
                "plan_id": self.plan_id,
                "role_arn": self.role_arn,
                "notifications_topic_arn": self.notifications_topic_arn,
            }
        )

    def _notifications(self, name: str, args: BackupArgs) -> None:
        """An SNS topic (encrypted with the backup key) that AWS Backup may publish vault events to, and only it."""
        aws_ctx = args.aws
        topic = aws.sns.Topic(
            f"{name}-events",
            name=f"{name}-events",
            kms_master_key_id=args.kms_key_arn,
            opts=self.child_opts(),
        )

        def policy(topic_arn: str) -> str:
            return json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        account_manages_topic(aws_ctx, topic_arn, publishes=True),
                        {
                            "Sid": "AwsBackupPublishesVaultEvents",
                            "Effect": "Allow",
                            "Principal": {"Service": aws_ctx.service_principal("backup")},
                            "Action": "SNS:Publish",
                            "Resource": topic_arn,
                            "Condition": {"StringEquals": {"aws:SourceAccount": aws_ctx.account_id}},
                        },
                        deny_insecure_transport("SNS:Publish", topic_arn, sid="DenyInsecureTransport"),
                    ],
                }
            )  # fmt: skip

        topic_policy = aws.sns.TopicPolicy(
            f"{name}-events-policy", arn=topic.arn, policy=topic.arn.apply(policy), opts=self.child_opts()
        )
        aws.backup.VaultNotifications(
            f"{name}-vault-notifications",
            backup_vault_name=self.vault.name,
            sns_topic_arn=topic.arn,
            backup_vault_events=list(VAULT_EVENTS),
            opts=self.child_opts(depends_on=[topic_policy]),
        )
        self.notifications_topic = topic
        self.notifications_topic_arn = topic.arn

    def _service_role(self, name: str, args: BackupArgs) -> aws.iam.Role:
        """The role AWS Backup assumes for this plan: AWS's managed backup/restore policies (incl. S3), plus use of
        the keys that encrypt the protected resources and the vault (grants only for AWS resources)."""
        role = aws.iam.Role(
            f"{name}-role",
            description=f"AWS Backup service role of {name}",
            assume_role_policy=service_trust_policy(args.aws, "backup"),
            opts=self.child_opts(),
        )
        for policy in SERVICE_ROLE_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-role-{policy.rsplit('/', 1)[-1]}",
                role=role.name,
                policy_arn=args.aws.managed_policy_arn(policy),
                opts=self.child_opts(),
            )
        # The DR vault's key too: a copy job re-encrypts each point with the destination vault's key.
        keys = [args.kms_key_arn, *args.source_kms_key_arns]
        if args.copy_destination_kms_key_arn is not None:
            keys.append(args.copy_destination_kms_key_arn)
        aws.iam.RolePolicy(
            f"{name}-role-kms",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "UseDataAndVaultKeys",
                            "Effect": "Allow",
                            "Action": list(KEY_USE_ACTIONS),
                            "Resource": keys,
                        },
                        {
                            "Sid": "GrantKeysToAwsServicesOnly",
                            "Effect": "Allow",
                            "Action": "kms:CreateGrant",
                            "Resource": keys,
                            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                        },
                    ],
                }
            ),
            opts=self.child_opts(),
        )
        return role
