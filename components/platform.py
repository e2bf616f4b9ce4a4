"""The composition: builds every component from its slice of the validated config and wires them by outputs.

Reading this file top to bottom is reading the platform: providers, account facts, keys, network, and (as the
platform grows) the cluster, its add-ons, the data layer, monitoring, DR and the ai-api workload.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, PlatformComponent
from components.config import StackConfig, StackConfigError
from components.identity import Identity, IdentityArgs
from components.network import Network, NetworkArgs
from components.tagging import tagging_transformation


def resolve_availability_zones(config: StackConfig, provider: aws.Provider) -> tuple[str, ...]:
    """The AZs to use: those the stack names, else the first `az_count` default (non opt-in) AZs of the region."""
    network = config.network
    if network.availability_zones:
        return network.availability_zones
    offered = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
        opts=pulumi.InvokeOptions(provider=provider),
    ).names
    if len(offered) < network.az_count:
        raise StackConfigError(
            [
                f"Pulumi.{config.stack}.yaml: ai-platform:network.az_count: {network.az_count} AZs asked but "
                f"{config.region} offers {len(offered)}; allowed: 2 to {len(offered)}"
            ]
        )
    return tuple(sorted(offered)[: network.az_count])


def lookup_aws_context(region: str, provider: aws.Provider) -> AwsContext:
    """Account id, partition and DNS suffix of the deployment target (two read-only lookups, once per run)."""
    invoke = pulumi.InvokeOptions(provider=provider)
    identity = aws.get_caller_identity(opts=invoke)
    partition = aws.get_partition(opts=invoke)
    return AwsContext(
        account_id=identity.account_id, partition=partition.partition, region=region,
        dns_suffix=partition.dns_suffix,
    )  # fmt: skip


class Platform(PlatformComponent):
    """The whole platform of one stack."""

    area = "platform"

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        # The tagging transformation sits on the root component, so every descendant inherits it.
        tagging = pulumi.ResourceOptions(transformations=[tagging_transformation(config.mandatory_tags())])
        super().__init__(name, pulumi.ResourceOptions.merge(opts, tagging))
        self.config = config

        self.aws_provider = aws.Provider(f"{name}-aws", region=config.region, opts=self.child_opts())
        aws_ctx = lookup_aws_context(config.region, self.aws_provider)
        components = self.child_opts(providers={"aws": self.aws_provider})

        self.identity = Identity(f"{name}-identity", IdentityArgs(config=config.identity, aws=aws_ctx), components)

        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                config=config.network,
                availability_zones=resolve_availability_zones(config, self.aws_provider),
                logs_kms_key_arn=self.identity.key_arns["logs"],
                aws=aws_ctx,
            ),
            components,
        )

        self.register_outputs(
            {
                "vpc_id": self.network.vpc_id,
                "key_arns": self.identity.key_arns,
            }
        )

    def exports(self) -> dict[str, pulumi.Input[object]]:
        """What operators need from a stack (`pulumi stack output`); secrets stay secret."""
        return {
            "environment": self.config.environment,
            "region": self.config.region,
            "vpc_id": self.network.vpc_id,
            "vpc_cidr": self.network.vpc_cidr,
            "availability_zones": self.network.availability_zones,
            "public_subnet_ids": self.network.public_subnet_ids,
            "private_subnet_ids": self.network.private_subnet_ids,
            "database_subnet_ids": self.network.database_subnet_ids,
            "kms_key_arns": self.identity.key_arns,
        }


def build(config: StackConfig) -> Platform:
    """Declare the platform for a validated config and export its outputs (the whole body of `__main__.py`)."""
    platform = Platform(config.stack, config)
    for key, value in platform.exports().items():
        pulumi.export(key, value)
    return platform
