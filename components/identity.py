"""Identity: one customer-managed KMS key per purpose, and the helper that builds IRSA workload roles.

Keys are separated by purpose so that a grant on one data class (say, logs) never opens another (the database),
and so that each can be disabled or audited on its own. Every key rotates yearly and, being state that encrypts
state, is protected from `pulumi destroy`; a scheduled deletion waits `kms_deletion_window_days`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from config import PROJECT, IdentityConfig
from lib.aws import AwsContext
from lib.iam import KEY_USE_ACTIONS, irsa_trust_policy, policy_document, service_trust_policy

KeyPurpose = Literal["eks", "database", "storage", "logs", "backup", "alerts", "security", "audit"]
# Every stack's keys; `audit` only exists in the stack that owns the account's CloudTrail trail.
KEY_PURPOSES: tuple[KeyPurpose, ...] = ("eks", "database", "storage", "logs", "backup", "alerts", "security")
KEY_DESCRIPTIONS: dict[KeyPurpose, str] = {
    "eks": "EKS Kubernetes secrets envelope encryption",
    "database": "Aurora storage, Performance Insights and the master-user secret",
    "storage": "S3 buckets (SSE-KMS with bucket keys)",
    "logs": "CloudWatch Logs log groups (flow logs, control plane, database logs)",
    "backup": "AWS Backup vaults and recovery points",
    "alerts": "SNS topics of the CloudWatch alarms and EventBridge alerts",
    "security": "Security automation state: the IP-blocking table and the ai-api's application secrets",
    "audit": "CloudTrail log files and their bucket",
}
# The services that publish to the alert topics themselves: CloudWatch alarms, EventBridge rules (backup job
# failures), AWS Budgets and Cost Anomaly Detection (cost alerts).
ALERT_PUBLISHERS: tuple[str, ...] = ("cloudwatch", "events", "budgets", "costalerts")


@dataclass(frozen=True)
class IdentityArgs:
    """Inputs of `Identity`.

    config: the `ai-platform:identity` section (deletion window).
    aws: account, partition and region, for principals in key policies.
    audit_trail_arn: the ARN the account's CloudTrail trail will have, when this stack owns it: adds the `audit`
        key, which only that trail may encrypt with. Default None (no audit key).
    purposes: the keys to create (default all); the DR region of a backup-restore stack needs only the keys of
        the copies it holds (storage, backup).
    """

    config: IdentityConfig
    aws: AwsContext
    audit_trail_arn: str | None = None
    purposes: tuple[KeyPurpose, ...] = KEY_PURPOSES


def key_policy(purpose: KeyPurpose, aws_ctx: AwsContext, trail_arn: str | None = None) -> dict[str, Any]:
    """Key policy: the account (through IAM) administers and uses the key; CloudWatch Logs may use the logs key,
    but only for this account's log groups in this region (encryption-context condition); CloudWatch alarms and
    EventBridge may create and read data keys of the alerts key (publishing to its encrypted topics), on behalf of
    this account only; CloudTrail may encrypt with the audit key for the one trail `trail_arn` only."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": aws_ctx.root_principal},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if purpose == "logs":
        statements.append(
            {
                "Sid": "CloudWatchLogsUsesKeyForThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": aws_ctx.regional_endpoint("logs")},
                "Action": list(KEY_USE_ACTIONS),
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": aws_ctx.arn("logs", "log-group:*")}},
            }
        )
    if purpose == "backup":
        # AWS Backup publishes vault events to an SNS topic encrypted with this key: it must be able to create and
        # read that topic's data keys (only on behalf of this account).
        statements.append(
            {
                "Sid": "AwsBackupPublishesEncryptedNotifications",
                "Effect": "Allow",
                "Principal": {"Service": aws_ctx.service_principal("backup")},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": aws_ctx.account_id}},
            }
        )
    if purpose == "alerts":
        # An encrypted topic only receives a service's messages if the service may use the topic's key: AWS's
        # "compatibility between event sources from AWS services and encrypted topics" (SNS developer guide).
        statements.append(
            {
                "Sid": "AlarmsAndEventBridgePublishEncryptedAlerts",
                "Effect": "Allow",
                "Principal": {"Service": [aws_ctx.service_principal(s) for s in ALERT_PUBLISHERS]},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": aws_ctx.account_id}},
            }
        )
    if purpose == "audit":
        if trail_arn is None:
            raise ValueError("the audit key's policy names the trail that may use it: pass trail_arn")
        statements += cloudtrail_key_statements(aws_ctx, trail_arn)
    return {"Version": "2012-10-17", "Statement": statements}


def cloudtrail_key_statements(aws_ctx: AwsContext, trail_arn: str) -> list[dict[str, Any]]:
    """CloudTrail's part of a trail key's policy, as AWS documents it ("Configure AWS KMS key policies for
    CloudTrail"): the trail may generate data keys only when the request comes from that trail (`aws:SourceArn`) and
    the encryption context names a trail of this account; it may describe the key for that trail. Reading the log
    files goes through IAM (the account statement), not through a `Principal: *` grant."""
    source = {"aws:SourceArn": trail_arn}
    return [
        {
            "Sid": "CloudTrailEncryptsThisTrailsLogs",
            "Effect": "Allow",
            "Principal": {"Service": aws_ctx.service_principal("cloudtrail")},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": source,
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{aws_ctx.partition}:cloudtrail:*:"
                    f"{aws_ctx.account_id}:trail/*"
                },
            },
        },
        {
            "Sid": "CloudTrailDescribesKey",
            "Effect": "Allow",
            "Principal": {"Service": aws_ctx.service_principal("cloudtrail")},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": source},
        },
    ]


class Identity(PlatformComponent):
    """The platform's KMS keys, one per purpose, each with an alias `alias/ai-platform/<name>-<purpose>`."""

    area = "identity"

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        self.keys: dict[KeyPurpose, aws.kms.Key] = {}
        purposes = (*args.purposes, "audit") if args.audit_trail_arn else args.purposes
        for purpose in purposes:
            key = aws.kms.Key(
                f"{name}-{purpose}-key",
                description=f"{name}: {KEY_DESCRIPTIONS[purpose]}",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=args.config.kms_deletion_window_days,
                bypass_policy_lockout_safety_check=False,
                policy=json.dumps(key_policy(purpose, args.aws, args.audit_trail_arn)),
                opts=self.child_opts(protect=True),
            )
            aws.kms.Alias(
                f"{name}-{purpose}-alias",
                name=f"alias/{PROJECT}/{name}-{purpose}",
                target_key_id=key.key_id,
                opts=self.child_opts(),
            )
            self.keys[purpose] = key
        self.key_arns: dict[KeyPurpose, pulumi.Output[str]] = {p: k.arn for p, k in self.keys.items()}
        self.register_outputs({"key_arns": self.key_arns})


@dataclass(frozen=True)
class WorkloadRole:
    """An IRSA role and the grants attached to it (inline policy, managed-policy attachments).

    Whatever runs as the role waits for `ready`: referencing `role.arn` orders a consumer after the role only, and a
    pod started before its policy is attached fails its first calls with AccessDenied (a controller crash-loops)."""

    role: aws.iam.Role
    grants: tuple[pulumi.Resource, ...] = ()

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn

    @property
    def ready(self) -> list[pulumi.Resource]:
        return [self.role, *self.grants]


def workload_role(
    name: str,
    *,
    namespace: str,
    service_account: str,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    statements: Sequence[Mapping[str, Any]],
    parent: pulumi.Resource,
    description: str = "",
    managed_policy_arns: Sequence[str] = (),
) -> WorkloadRole:
    """An IAM role for one `(namespace, service account)` pair (IRSA) with a least-privilege inline policy.

    `statements` are IAM statements as dicts; values may be Outputs (ARNs of resources being created). Children
    are named `<name>-role` and `<name>-policy` under `parent`; consumers wait for the result's `ready`.
    """
    role = aws.iam.Role(
        f"{name}-role",
        description=description or f"IRSA role for {namespace}/{service_account}",
        assume_role_policy=irsa_trust_policy(oidc_provider_arn, oidc_issuer, namespace, service_account),
        max_session_duration=3600,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    grants: list[pulumi.Resource] = []
    if statements:
        grants.append(
            aws.iam.RolePolicy(
                f"{name}-policy",
                role=role.id,
                policy=pulumi.Output.json_dumps(policy_document(statements)),
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    grants += [
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy_arn.rsplit('/', 1)[-1]}",
            role=role.name,
            policy_arn=policy_arn,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for policy_arn in managed_policy_arns
    ]
    return WorkloadRole(role=role, grants=tuple(grants))


# AWS managed policies every EKS node needs: join the cluster, pull images (pull-only, not push) and be reachable by
# SSM Session Manager instead of SSH. The VPC CNI's ENI permissions are deliberately absent: the vpc-cni add-on
# runs with its own IRSA role, so pods never inherit them through the node.
NODE_MANAGED_POLICIES: tuple[str, ...] = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)


def node_role(
    name: str, *, aws_ctx: AwsContext, parent: pulumi.Resource, description: str, role_name: str | None = None
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """An IAM role for EKS worker nodes (managed node groups, Karpenter nodes): only EC2 may assume it, with the
    policies of `NODE_MANAGED_POLICIES`. `role_name` fixes the IAM name when something refers to it by name
    (Karpenter's EC2NodeClass). Children are `<name>-role` and one attachment per policy.

    Returns the role and its attachments: whatever launches nodes with the role must depend on the attachments
    too (a node without AmazonEKSWorkerNodePolicy never joins; deleting them first leaves EKS unable to clean
    up instances and ENIs), since referencing the role's ARN only orders it after the role itself."""
    role = aws.iam.Role(
        f"{name}-role",
        name=role_name,
        description=description,
        assume_role_policy=service_trust_policy(aws_ctx, "ec2"),
        max_session_duration=3600,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy}",
            role=role.name,
            policy_arn=aws_ctx.managed_policy_arn(policy),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for policy in NODE_MANAGED_POLICIES
    ]
    return role, attachments
