"""The ai-api image repository: ECR, immutable tags, scanned on push, encrypted with the storage key, pruned."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.ai_api.names import APP
from components.base import PlatformComponent
from config import PROJECT
from config.api import ApiEcrConfig, ApiImageConfig
from lib.aws import AwsContext


def lifecycle_rules(ecr: ApiEcrConfig) -> dict[str, Any]:
    """Untagged images expire after some days; beyond the newest `keep_last_images`, the oldest expire."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"expire untagged images after {ecr.untagged_expire_days} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": ecr.untagged_expire_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"keep the last {ecr.keep_last_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": ecr.keep_last_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


def image_repository(
    owner: PlatformComponent, name: str, *, stack: str, ecr: ApiEcrConfig, kms_key_arn: pulumi.Input[str]
) -> aws.ecr.Repository:
    """Declare the repository `ai-platform/<stack>/ai-api` (`<name>-repository`) and its lifecycle policy.

    Tags are immutable (but for the `mutable_tag_filters` patterns), so a tag names one image for good; the
    repository is protected by default, its images being the releases.
    """
    repository = aws.ecr.Repository(
        f"{name}-repository",
        name=f"{PROJECT}/{stack}/{APP}",
        image_tag_mutability="IMMUTABLE_WITH_EXCLUSION" if ecr.mutable_tag_filters else "IMMUTABLE",
        image_tag_mutability_exclusion_filters=[
            {"filter": pattern, "filter_type": "WILDCARD"} for pattern in ecr.mutable_tag_filters
        ]
        or None,
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "KMS", "kms_key": kms_key_arn}],
        force_delete=False,
        opts=owner.child_opts(protect=ecr.protect),
    )
    aws.ecr.LifecyclePolicy(
        f"{name}-repository-lifecycle",
        repository=repository.name,
        policy=json.dumps(lifecycle_rules(ecr)),
        opts=owner.child_opts(),
    )
    return repository


def repository_url(repository: aws.ecr.Repository, aws_context: AwsContext) -> pulumi.Output[str]:
    """`<account>.dkr.ecr.<region>.<dns suffix>/<name>`, the repository's URI as ECR reports it, built from what is
    known before the repository exists: the account's registry and the repository's own (explicit) name.

    The `repository_url` output is unknown until ECR creates the repository, so an image reference built from it
    would be unknown in a stack's first `pulumi preview`, where the policy pack must still see which registry and
    which tag the pods run. Reading the name keeps the pods' dependency on the repository.
    """
    registry_host = f"{aws_context.account_id}.dkr.ecr.{aws_context.region}.{aws_context.dns_suffix}"
    return repository.name.apply(lambda name: f"{registry_host}/{name}")


def image_reference(repository_url: pulumi.Input[str], image: ApiImageConfig) -> pulumi.Output[str]:
    """`<repository>:<tag>@<digest>`, `<repository>@<digest>` or `<repository>:<tag>`: the digest pins when given."""
    tag, digest = image.tag, image.digest
    suffix = (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    return pulumi.Output.concat(repository_url, suffix)
