"""One namespace reading exactly one AWS Secrets Manager secret through external-secrets.

RDS names the secrets it manages itself (`rds!cluster-...`), outside the stack's secrets prefix that the shared
`ClusterSecretStore` may read. Rather than widen that cluster-wide grant (any namespace's ExternalSecret could then
read the database master password), a namespace that needs such a secret gets its own IRSA role that can read
exactly that secret (decrypting it only through Secrets Manager), a ServiceAccount bound to it, and a
namespaced `SecretStore` authenticating as that ServiceAccount; `database_credentials_secret` then syncs the RDS
credentials through it into a Kubernetes Secret.

Only the migrations' namespace reads the master secret this way: applications sign in with IAM database
authentication as their own role (the ai-api as `ai_app`) and never see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.identity import WorkloadRole, workload_role
from lib.aws import AwsContext
from lib.iam import decrypt_through_service
from lib.k8s import WAIT_FOR_READY


def single_secret_statements(
    aws_ctx: AwsContext, secret_arn: pulumi.Input[str], kms_key_arn: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """Read one secret; decrypt it with its key only when Secrets Manager asks, for that secret only."""
    return [
        {
            "Sid": "ReadOneSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": secret_arn,
        },
        decrypt_through_service(
            aws_ctx,
            "secretsmanager",
            kms_key_arn,
            sid="DecryptItThroughSecretsManagerOnly",
            encryption_context={"SecretARN": secret_arn},
        ),
    ]


def single_secret_store(
    name: str,
    *,
    namespace: str,
    store_name: str,
    secret_arn: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    aws_ctx: AwsContext,
    labels: Mapping[str, str],
    parent: pulumi.Resource,
    opts: pulumi.ResourceOptions,
    description: str,
) -> tuple[WorkloadRole, k8s.apiextensions.CustomResource]:
    """Declare the role, ServiceAccount and `SecretStore` (both named `store_name`) in `namespace`.

    `opts` carries the parent, the Kubernetes provider and the dependencies on the namespace and on the
    external-secrets add-on (the chart installing the `SecretStore` CRD). Children are named
    `<name>-secrets-role`, `<name>-secrets-policy`, `<name>-secrets-service-account` and `<name>-secret-store`.
    The store waits for its ServiceAccount (it authenticates as it) and counts as created once Ready. Returns the
    role and the store (ExternalSecrets depend on the store).
    """
    role = workload_role(
        f"{name}-secrets",
        namespace=namespace,
        service_account=store_name,
        oidc_provider_arn=oidc_provider_arn,
        oidc_issuer=oidc_issuer,
        statements=single_secret_statements(aws_ctx, secret_arn, kms_key_arn),
        parent=parent,
        description=description,
    )
    metadata = {"name": store_name, "namespace": namespace, "labels": dict(labels)}
    service_account = k8s.core.v1.ServiceAccount(
        f"{name}-secrets-service-account",
        metadata={**metadata, "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
        automount_service_account_token=False,
        opts=opts,
    )
    store = k8s.apiextensions.CustomResource(
        f"{name}-secret-store",
        api_version="external-secrets.io/v1",
        kind="SecretStore",
        metadata={**metadata, "annotations": dict(WAIT_FOR_READY)},
        spec={
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": aws_ctx.region,
                    "auth": {"jwt": {"serviceAccountRef": {"name": store_name}}},
                }
            }
        },
        # It authenticates as the ServiceAccount's role at once: with the role's read grant attached.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[service_account, *role.ready])),
    )
    return role, store


def database_credentials_secret(
    resource_name: str,
    *,
    secret_name: str,
    namespace: str,
    store: k8s.apiextensions.CustomResource,
    store_name: str,
    secret_arn: pulumi.Input[str],
    labels: Mapping[str, str],
    refresh_interval: str,
    deletion_policy: str,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """Declare the ExternalSecret `secret_name` syncing an RDS-managed secret's `username` and `password`.

    It reads through the namespaced `SecretStore` `store_name` (`store`, from `single_secret_store`) and waits for
    it on top of `opts`; it counts as created once its Secret exists, so pods or Jobs referencing the Secret never
    start without it. The Secret holds `username` and `password` and is owned by the ExternalSecret (deleted with
    it); `deletion_policy` (`Delete`, `Retain`) says what becomes of it when the AWS secret goes.
    """
    target = {"name": secret_name, "creationPolicy": "Owner", "deletionPolicy": deletion_policy}
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="external-secrets.io/v1",
        kind="ExternalSecret",
        metadata={
            "name": secret_name,
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": dict(WAIT_FOR_READY),
        },
        spec={
            "refreshInterval": refresh_interval,
            "secretStoreRef": {"kind": "SecretStore", "name": store_name},
            "target": target,
            "data": [
                {"secretKey": key, "remoteRef": {"key": secret_arn, "property": key}}
                for key in ("username", "password")
            ],
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[store])),
    )
