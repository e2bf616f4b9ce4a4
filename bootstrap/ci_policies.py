"""The CI roles' IAM documents, as data (no resources): what a platform stack's deploy, preview and image-push roles
may do. Checked by the policy pack's `iam-catalog-valid` rule (AWS's action catalogue) and by tests/test_bootstrap.py
(every AWS service the platform's plans declare is covered; the preview role writes nothing but its state lock).

Where `"*"` stays:
- Deploy role, the platform's regional services: `<service>:*` on `"*"`, limited to the stack's regions
  (`aws:RequestedRegion`). Resource ARNs do not exist before `pulumi up` creates them (most are random ids: vpc-...,
  sg-..., key ids), and creates (`ec2:CreateVpc`, `kms:CreateKey`, `eks:CreateCluster` of a name pulumi-eks picks)
  take no resource ARN or a generated one. What bounds it instead: the regions, a Deny of every action on resources
  tagged for another stack (`aws:ResourceTag/stack`), and a Deny of any change to the bootstrap's own keys,
  buckets and roles.
- IAM is not `*`: roles, policies and instance profiles whose names start with the stack's names (Pulumi's
  auto-names begin with the stack, `<stack>-...`; fixed names with `ai-platform-<stack>-`), the EKS OIDC providers
  of the stack's regions, and service-linked roles of the services the platform uses only.
- Read-only `Describe*`/`List*` actions that support no resource-level permissions are granted on `"*"` (AWS's
  rule for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from lib.aws import AwsContext
from lib.ci_names import PROJECT, deploy_role_name, ecr_repository_name, preview_role_name, push_role_name

# IAM service prefixes of the regional AWS services the platform declares resources of (tests/test_bootstrap.py maps
# every type in the dev, staging and prod plans onto these).
PLATFORM_SERVICES: tuple[str, ...] = (
    "acm", "autoscaling", "backup", "backup-storage", "cloudtrail", "cloudwatch", "dynamodb", "ec2", "ecr", "eks",
    "elasticloadbalancing", "events", "guardduty", "inspector2", "kms", "lambda", "logs", "pi", "rds", "scheduler",
    "secretsmanager", "securityhub", "sns", "sqs", "ssm", "wafv2",
)  # fmt: skip
# IAM service prefixes of the global services the platform declares resources of (Route 53 records and health
# checks, budgets, Cost Explorer's anomaly monitors and cost-allocation tags): their requests carry us-east-1 as
# the requested region whatever the stack's region, so they are granted without the region condition.
GLOBAL_SERVICES: tuple[str, ...] = ("budgets", "ce", "route53")
# Service-linked roles the platform's services create on first use (the caller needs iam:CreateServiceLinkedRole).
SERVICE_LINKED_ROLES: tuple[str, ...] = (
    "autoscaling.amazonaws.com", "backup.amazonaws.com", "eks.amazonaws.com", "eks-nodegroup.amazonaws.com",
    "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com", "spot.amazonaws.com",
    "guardduty.amazonaws.com", "malware-protection.guardduty.amazonaws.com", "securityhub.amazonaws.com",
    "inspector2.amazonaws.com",
)  # fmt: skip
# What a refresh or preview reads, service by service: configuration, never data (no s3:GetObject of the
# platform's buckets, no logs:GetLogEvents, no secret values outside the stack's own prefix).
READ_ACTIONS: tuple[str, ...] = (
    "acm:DescribeCertificate", "acm:GetCertificate", "acm:ListTagsForCertificate",
    "autoscaling:Describe*",
    "backup:Describe*", "backup:GetBackupPlan", "backup:GetBackupSelection", "backup:GetBackupVaultAccessPolicy",
    "backup:GetBackupVaultNotifications", "backup:ListBackupPlans", "backup:ListBackupSelections", "backup:ListTags",
    "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource",
    "ec2:Describe*",
    "ecr:DescribeRepositories", "ecr:DescribeImages", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy",
    "ecr:ListTagsForResource",
    "eks:Describe*", "eks:List*",
    "elasticloadbalancing:Describe*",
    "events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule",
    "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListResourceTags",
    "logs:DescribeLogGroups", "logs:DescribeResourcePolicies", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
    "rds:Describe*", "rds:ListTagsForResource",
    "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds",
    "sns:GetTopicAttributes", "sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic",
    "sns:ListTagsForResource",
    "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags",
    "ssm:DescribeParameters", "ssm:GetParameter", "ssm:GetParameters", "ssm:ListTagsForResource",
    "wafv2:GetIPSet", "wafv2:GetLoggingConfiguration", "wafv2:GetWebACL", "wafv2:GetWebACLForResource",
    "wafv2:ListTagsForResource",
)  # fmt: skip
IAM_READ_ACTIONS: tuple[str, ...] = (
    "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListRoleTags",
    "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListPolicyTags",
    "iam:GetInstanceProfile", "iam:ListInstanceProfilesForRole", "iam:ListInstanceProfileTags",
    "iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviderTags",
)  # fmt: skip
S3_CONFIG_READ_ACTIONS: tuple[str, ...] = (
    "s3:GetBucket*", "s3:GetLifecycleConfiguration", "s3:GetEncryptionConfiguration", "s3:GetReplicationConfiguration",
    "s3:GetAccelerateConfiguration", "s3:GetBucketObjectLockConfiguration", "s3:GetIntelligentTieringConfiguration",
    "s3:GetInventoryConfiguration", "s3:GetMetricsConfiguration", "s3:GetAnalyticsConfiguration",
)  # fmt: skip
# Changes of the bootstrap's own buckets and keys no CI role may make (they hold every stack's state and secrets).
PROTECTED_BUCKET_ACTIONS: tuple[str, ...] = (
    "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration", "s3:PutReplicationConfiguration",
    "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls", "s3:PutBucketLogging",
)  # fmt: skip
PROTECTED_KEY_ACTIONS: tuple[str, ...] = (
    "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "kms:CreateGrant",
    "kms:UpdatePrimaryRegion", "kms:ReplicateKey", "kms:DeleteAlias", "kms:UpdateAlias",
)  # fmt: skip
STATE_PROJECT = PROJECT  # the platform's Pulumi project: state objects live under .pulumi/<kind>/<project>/<stack>


def state_object_arns(bucket_arn: str, stack: str) -> list[str]:
    """The objects one platform stack's `pulumi up` writes in a DIY S3 backend: its checkpoint, history, backups
    and lock (`.pulumi/{stacks,history,backups,locks}/.../ai-platform/<stack>`)."""
    return [
        f"{bucket_arn}/.pulumi/stacks/{STATE_PROJECT}/{stack}.json*",
        f"{bucket_arn}/.pulumi/history/{STATE_PROJECT}/{stack}/*",
        f"{bucket_arn}/.pulumi/backups/{STATE_PROJECT}/{stack}/*",
        *lock_object_arns(bucket_arn, stack),
    ]


def lock_object_arns(bucket_arn: str, stack: str) -> list[str]:
    """A stack's lock files (`.pulumi/locks/<org>/ai-platform/<stack>/<id>.json`): previews take the lock too."""
    return [f"{bucket_arn}/.pulumi/locks/*{STATE_PROJECT}/{stack}/*"]


def state_statements(
    bucket_arn: str, stack: str, state_key: pulumi.Input[str], secrets_key: pulumi.Input[str], home: AwsContext,
    *, write: bool,
) -> list[dict[str, Any]]:  # fmt: skip
    """Reading the backend (every stack's checkpoints: `pulumi stack ls`, stack references) and writing one stack's
    objects (`write`: checkpoint, history, backups, lock; a preview only its lock), through the state key by S3
    only; the stack's secrets through the secrets key (encrypt only with `write`: `pulumi config set --secret`)."""
    via_s3 = {"StringEquals": {"kms:ViaService": home.regional_endpoint("s3")}}
    writes = state_object_arns(bucket_arn, stack) if write else lock_object_arns(bucket_arn, stack)
    return [
        {"Sid": "ListState", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": bucket_arn},
        {"Sid": "ReadState", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/.pulumi/*"},
        {"Sid": "WriteStackState", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
         "Resource": writes},
        {"Sid": "StateKeyThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": state_key, "Condition": via_s3},
        {"Sid": "StackSecrets", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] if write else "kms:Decrypt",
         "Resource": secrets_key},
    ]  # fmt: skip


def _regions(regions: Sequence[str]) -> dict[str, Any]:
    return {"StringEquals": {"aws:RequestedRegion": list(regions)}}


def preview_statements(stack: str, contexts: Sequence[AwsContext]) -> list[dict[str, Any]]:
    """Read-only access to what the stack declares in its regions (`contexts`: primary, then DR)."""
    home = contexts[0]
    regions = [c.region for c in contexts]
    return [
        {"Sid": "ReadPlatformConfiguration", "Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": "*",
         "Condition": _regions(regions)},
        {"Sid": "ReadPlatformIam", "Effect": "Allow", "Action": list(IAM_READ_ACTIONS), "Resource": "*"},
        {"Sid": "ReadPlatformBuckets", "Effect": "Allow", "Action": list(S3_CONFIG_READ_ACTIONS),
         "Resource": f"arn:{home.partition}:s3:::{PROJECT}-{stack}-*"},
        # A refresh reads the stack's own Secrets Manager secrets (SecretVersion resources), nobody else's.
        {"Sid": "ReadStackSecretValues", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": [c.arn("secretsmanager", f"secret:{PROJECT}/{stack}/*") for c in contexts]},
    ]  # fmt: skip


def deploy_statements(
    stack: str, contexts: Sequence[AwsContext], backend_keys: Sequence[pulumi.Input[str]]
) -> list[dict[str, Any]]:
    """Create, change and delete what the stack declares, in its regions, and nothing tagged for another stack but
    the backend's keys (`backend_keys`, tagged for the bootstrap stack), which it uses (and may not change: see
    `protect_bootstrap_statements`)."""
    home = contexts[0]
    regions = [c.region for c in contexts]
    iam = f"arn:{home.partition}:iam::{home.account_id}"
    names = [f"{stack}-*", f"{PROJECT}-{stack}-*"]
    return [
        {"Sid": "PlatformServicesInStackRegions", "Effect": "Allow",
         "Action": [f"{service}:*" for service in PLATFORM_SERVICES], "Resource": "*",
         "Condition": _regions(regions)},
        {"Sid": "PlatformGlobalServices", "Effect": "Allow",
         "Action": [f"{service}:*" for service in GLOBAL_SERVICES], "Resource": "*"},
        {"Sid": "PlatformBuckets", "Effect": "Allow", "Action": "s3:*",
         "Resource": [f"arn:{home.partition}:s3:::{PROJECT}-{stack}-*",
                      f"arn:{home.partition}:s3:::{PROJECT}-{stack}-*/*"]},
        {"Sid": "ListBuckets", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        {"Sid": "StackIamRoles", "Effect": "Allow", "Action": "iam:*",
         "Resource": [f"{iam}:{kind}/{name}" for kind in ("role", "policy", "instance-profile") for name in names]
         + [f"{iam}:oidc-provider/oidc.eks.{c.region}.{c.dns_suffix}/id/*" for c in contexts]},
        {"Sid": "ReadIam", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Sid": "ServiceLinkedRoles", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": f"{iam}:role/aws-service-role/*",
         "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}}},
        # Nothing another stack owns (the platform tags every resource with its stack; so does the bootstrap).
        {"Sid": "DenyOtherStacksResources", "Effect": "Deny",
         "Action": ["iam:*", *(f"{service}:*" for service in (*PLATFORM_SERVICES, *GLOBAL_SERVICES))],
         "NotResource": list(backend_keys),
         "Condition": {"StringNotEquals": {"aws:ResourceTag/stack": stack},
                       "Null": {"aws:ResourceTag/stack": "false"}}},
    ]  # fmt: skip


def protect_bootstrap_statements(
    role_arns: Sequence[str], bucket_arns: Sequence[pulumi.Input[str]], key_arns: Sequence[pulumi.Input[str]],
) -> list[dict[str, Any]]:  # fmt: skip
    """Denies no CI role can be granted around: changes to the CI roles, the state buckets and the keys."""
    return [
        {"Sid": "DenyCiRoleChanges", "Effect": "Deny", "Action": "iam:*", "Resource": list(role_arns)},
        {"Sid": "DenyStateBucketChanges", "Effect": "Deny", "Action": list(PROTECTED_BUCKET_ACTIONS),
         "Resource": list(bucket_arns)},
        {"Sid": "DenyKeyChanges", "Effect": "Deny", "Action": list(PROTECTED_KEY_ACTIONS), "Resource": list(key_arns)},
    ]  # fmt: skip


def ci_role_arns(home: AwsContext, stacks: Sequence[str]) -> list[str]:
    """Every CI role the bootstrap creates in this account (IAM is global: one list for all regions)."""
    names = [f(stack) for stack in stacks for f in (deploy_role_name, preview_role_name, push_role_name)]
    return [f"arn:{home.partition}:iam::{home.account_id}:role/{name}" for name in names]


def push_statements(stack: str, ctx: AwsContext) -> list[dict[str, Any]]:
    """Push (and only push) to the stack's ai-api repository: AWS's documented push permissions (ECR user guide,
    "Pushing an image"); `ecr:GetAuthorizationToken` supports no resource-level permission."""
    return [
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "PushToStackRepository", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage"],
         "Resource": ctx.arn("ecr", f"repository/{ecr_repository_name(stack)}")},
    ]  # fmt: skip
