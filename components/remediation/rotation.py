"""The ai-api's application secrets in Secrets Manager and the rotation of the generated ones.

Each configured secret (`ai-platform:api.secrets`) is `ai-platform/<stack>/ai-api/<name>`, encrypted with the
platform's security key, under the prefix the shared ClusterSecretStore reads. A generated key rotates every
`security.rotation.days` through the rotation Lambda (`lambdas/secret_rotation`); its first value comes from the
rotation Secrets Manager runs as soon as the schedule is set, so no key ever passes through Pulumi's state. A
provider key (a third party issues it) is put and rotated by an operator (README "Secret rotation") and tagged so
the gate knows its issuer rotates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.remediation.function import FunctionSpec, python_function, service_invoke_permission
from config.api import ApiSecretConfig
from config.security import RotationConfig
from lambdas.secret_rotation.rotation import LENGTH_TAG
from lib.aws import AwsContext
from lib.security import app_secret_name, rotation_function_name

# The policy pack's tag for a secret its issuer rotates (policy/rules/identity.py ROTATION_TAG).
EXTERNAL_ROTATION_TAGS = {"ai-platform/rotation": "external"}
# How long Secrets Manager gives one rotation (all four steps) before it counts as failed.
ROTATION_WINDOW = "2h"


@dataclass(frozen=True)
class ApplicationSecretsArgs:
    """Inputs of `ApplicationSecrets`.

    secrets: `ai-platform:api.secrets`.
    rotation: `ai-platform:security.rotation` (period, log retention, recovery window).
    stack: names the secrets and the function.
    aws: account, partition and region.
    kms_key_arn: the secrets' key (the platform's security key).
    alerts_kms_key_arn / logs_kms_key_arn: keys of the function's dead-letter queue and log group.
    replica_kms_key_arns: region -> key of a replica of every secret there (the DR region's standby reads the
        same keys through its own external-secrets; Secrets Manager keeps the replicas in step with each rotation).
        Default: none.
    """

    secrets: tuple[ApiSecretConfig, ...]
    rotation: RotationConfig
    stack: str
    aws: AwsContext
    kms_key_arn: pulumi.Input[str]
    alerts_kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    replica_kms_key_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


def rotation_statements(args: ApplicationSecretsArgs, secret_arns: list[pulumi.Output[str]]) -> list[dict[str, Any]]:
    """Read, write and restage exactly the generated secrets; use their key through Secrets Manager, for them only."""
    return [
        {
            "Sid": "RotateGeneratedSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Resource": secret_arns,
        },
        {
            "Sid": "UseSecretsKeyThroughSecretsManager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": args.kms_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": args.aws.regional_endpoint("secretsmanager")},
                "StringLike": {"kms:EncryptionContext:SecretARN": secret_arns},
            },
        },
    ]


class ApplicationSecrets(PlatformComponent):
    """One Secrets Manager secret per configured secret; for generated ones the rotation Lambda and schedule."""

    area = "security"

    def __init__(self, name: str, args: ApplicationSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        self.secrets: dict[str, aws.secretsmanager.Secret] = {}
        for secret in args.secrets:
            generated = secret.source == "generated"
            self.secrets[secret.name] = aws.secretsmanager.Secret(
                f"{name}-{secret.name}",
                name=app_secret_name(args.stack, secret.name),
                description=(secret.description or f"ai-api {secret.source} key {secret.name}")[:2048],
                kms_key_id=args.kms_key_arn,
                replicas=[{"region": region, "kms_key_id": key} for region, key in args.replica_kms_key_arns.items()],
                recovery_window_in_days=args.rotation.recovery_window_days,
                tags={LENGTH_TAG: str(secret.length)} if generated else EXTERNAL_ROTATION_TAGS,
                opts=self.child_opts(),
            )
        generated_names = [s.name for s in args.secrets if s.source == "generated"]
        self.rotations: list[pulumi.Resource] = []
        if generated_names:
            arns = [self.secrets[n].arn for n in generated_names]
            function = python_function(
                self,
                f"{name}-rotation",
                FunctionSpec(
                    function_name=rotation_function_name(args.stack),
                    package="secret_rotation",
                    handler="rotation.handle",
                    description="Rotates the ai-api's generated API keys (Secrets Manager rotation steps)",
                    statements=rotation_statements(args, arns),
                    environment={},
                    log_retention_days=args.rotation.log_retention_days,
                    timeout_seconds=30,
                    reserved_concurrency=2,
                ),
                aws_ctx=args.aws,
                alerts_key_arn=args.alerts_kms_key_arn,
                logs_key_arn=args.logs_kms_key_arn,
            ).function
            for secret_name in generated_names:
                stored = self.secrets[secret_name]
                permission = service_invoke_permission(
                    self, f"{name}-{secret_name}-invoke", function, "secretsmanager", stored.arn, args.aws
                )
                self.rotations.append(
                    aws.secretsmanager.SecretRotation(
                        f"{name}-{secret_name}-rotation",
                        secret_id=stored.id,
                        rotation_lambda_arn=function.arn,
                        rotation_rules={"automatically_after_days": args.rotation.days, "duration": ROTATION_WINDOW},
                        rotate_immediately=True,  # the first value: nothing is ever set by hand or held in state
                        opts=self.child_opts(depends_on=[permission]),
                    )
                )
        self.secret_arns = {n: s.arn for n, s in self.secrets.items()}
        self.register_outputs({"secret_arns": self.secret_arns})
