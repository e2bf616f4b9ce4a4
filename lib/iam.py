"""IAM and KMS policy documents as plain dicts (values may be Pulumi Outputs): statements, trust policies and the
key-use action set, written once and used by every component that grants or trusts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from lib.aws import AwsContext

# What a principal needs to use (not administer) a KMS key: AWS's documented "key users" statement of the default
# key policy (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-users).
KEY_USE_ACTIONS: tuple[str, ...] = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)


def policy_document(statements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An IAM policy document (`Version` 2012-10-17) holding `statements`."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def deny_insecure_transport(
    actions: str | Sequence[str], resources: pulumi.Input[str] | Sequence[pulumi.Input[str]], *, sid: str
) -> dict[str, Any]:
    """A resource-policy statement denying every request not made over TLS (`aws:SecureTransport` false):
    FSBP S3.5 / SNS.2-style transport rules for buckets, topics and queues."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions if isinstance(actions, str) else list(actions),
        "Resource": list(resources) if isinstance(resources, list | tuple) else resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


# What the account itself (through IAM) may do on an SNS topic it owns, besides publishing.
TOPIC_OWNER_ACTIONS: tuple[str, ...] = (
    "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
)  # fmt: skip


def account_manages_topic(aws_ctx: AwsContext, topic_arn: str, *, publishes: bool) -> dict[str, Any]:
    """A topic-policy statement letting the account (through IAM) manage the topic, and publish with `publishes`."""
    actions = [*TOPIC_OWNER_ACTIONS, *(["SNS:Publish"] if publishes else [])]
    return {
        "Sid": "AccountManagesTopic",
        "Effect": "Allow",
        "Principal": {"AWS": aws_ctx.root_principal},
        "Action": actions,
        "Resource": topic_arn,
    }


def irsa_trust_policy(
    oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str], namespace: str, service_account: str
) -> pulumi.Output[str]:
    """Trust policy letting exactly one Kubernetes service account assume a role through the cluster's OIDC
    provider: `:sub` pinned to `system:serviceaccount:<namespace>:<name>`, `:aud` to `sts.amazonaws.com`."""

    def render(provider_arn: str, issuer: str) -> str:
        issuer_host = issuer.removeprefix("https://")
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider_arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{issuer_host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                f"{issuer_host}:aud": "sts.amazonaws.com",
                            }
                        },
                    }
                ],
            }
        )

    return pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(lambda values: render(*values))


def decrypt_through_service(
    aws_ctx: AwsContext,
    service: str,
    key_arn: pulumi.Input[str],
    *,
    sid: str,
    encryption_context: Mapping[str, pulumi.Input[str]] | None = None,
) -> dict[str, Any]:
    """An IAM statement allowing `kms:Decrypt` on `key_arn` only when `service` (s3, secretsmanager, ...) calls KMS
    for the caller, and, with `encryption_context`, only for matching contexts (`StringLike`, wildcards allowed)."""
    condition: dict[str, Any] = {"StringEquals": {"kms:ViaService": aws_ctx.regional_endpoint(service)}}
    if encryption_context:
        condition["StringLike"] = {f"kms:EncryptionContext:{k}": v for k, v in encryption_context.items()}
    return {"Sid": sid, "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn, "Condition": condition}


def service_trust_policy(aws_ctx: AwsContext, service: str, *, source_account_guard: bool = False) -> str:
    """Trust policy letting one AWS service (e.g. `backup`, `eks`, `monitoring.rds`) assume a role.

    `source_account_guard` adds the confused-deputy condition `aws:SourceAccount = <this account>`: use it for
    services that set that key when they assume roles (flow logs, RDS monitoring), not for EC2 or EKS.
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": aws_ctx.service_principal(service)},
        "Action": "sts:AssumeRole",
    }
    if source_account_guard:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": aws_ctx.account_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def web_identity_trust_policy(
    provider_arn: pulumi.Input[str], issuer_host: str, subjects: Sequence[str], audience: str
) -> pulumi.Output[str]:
    """Trust policy letting tokens of one OIDC provider assume a role only with an exact `:aud` and one of the exact
    `:sub` values (no wildcards): e.g. GitHub's `repo:<owner>/<repo>:environment:<env>`."""
    return pulumi.Output.json_dumps(
        policy_document(
            [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{issuer_host}:aud": audience, f"{issuer_host}:sub": list(subjects)}
                    },
                }
            ]
        )
    )
