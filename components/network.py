"""Network: the VPC every other component lives in.

Per availability zone a public subnet (load balancers, NAT), a private subnet (EKS nodes and pods, sized for the VPC
CNI's one-address-per-pod) and a database subnet (no route to the internet). Subnet ranges are computed from the
VPC range on a power-of-two grid, so they never overlap and adding AZs never moves an existing subnet. Private
subnets reach the internet through NAT (one gateway, or one per AZ so an AZ outage cannot cut the others off) and
AWS APIs through VPC endpoints. Flow logs go to an encrypted CloudWatch log group; the default security group is
stripped of all rules (CIS 5.4).
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from config import NetworkConfig, subnet_slots
from lib.aws import AwsContext
from lib.iam import service_trust_policy

Tier = Literal["public", "private", "database"]
TIERS: tuple[Tier, ...] = ("public", "private", "database")
# Where each tier sits in the VPC range: the private tier takes the first half, public and database a quarter each.
_TIER_BLOCKS: dict[Tier, tuple[int, int]] = {"private": (1, 0), "public": (2, 2), "database": (2, 3)}
# Subnet tags the AWS Load Balancer Controller uses to discover where to place load balancers.
_TIER_TAGS: dict[Tier, dict[str, str]] = {
    "public": {"kubernetes.io/role/elb": "1", "tier": "public"},
    "private": {"kubernetes.io/role/internal-elb": "1", "tier": "private"},
    "database": {"tier": "database"},
}


def plan_subnets(cidr: str, availability_zones: Sequence[str]) -> dict[Tier, dict[str, str]]:
    """Subnet CIDR per tier and AZ: `{"private": {"us-east-1a": "10.0.0.0/19", ...}, ...}`.

    The VPC range is split in half (private) and two quarters (public, database); each block is divided into a
    power-of-two number of equal slots, one per AZ in order, so the result is deterministic and disjoint.
    """
    vpc = ipaddress.IPv4Network(cidr)
    slot_bits = int(math.log2(subnet_slots(len(availability_zones))))
    plan: dict[Tier, dict[str, str]] = {}
    for tier, (block_bits, block_index) in _TIER_BLOCKS.items():
        block = list(vpc.subnets(prefixlen_diff=block_bits))[block_index]
        slots = list(block.subnets(prefixlen_diff=slot_bits))
        plan[tier] = {az: str(slots[i]) for i, az in enumerate(availability_zones)}
    return plan


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of `Network`.

    config: the `ai-platform:network` section.
    availability_zones: the AZ names to use (resolved by the platform: from config, else the region's first N).
    logs_kms_key_arn: the platform's logs key, encrypting the flow-log group.
    aws: account/partition/region, for ARNs and service principals.
    """

    config: NetworkConfig
    availability_zones: tuple[str, ...]
    logs_kms_key_arn: pulumi.Input[str]
    aws: AwsContext


class Network(PlatformComponent):
    """VPC with public/private/database subnets per AZ, NAT, flow logs and VPC endpoints."""

    area = "network"

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config, azs = args.config, args.availability_zones
        subnet_plan = plan_subnets(config.cidr, azs)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=config.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{name}-vpc"},
            opts=self.child_opts(),
        )
        # CIS 5.4: the default security group must allow nothing; owning it with no rules strips AWS's defaults.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{name}-default-deny-all"},
            opts=self.child_opts(),
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": f"{name}-igw"}, opts=self.child_opts()
        )

        self.subnets: dict[Tier, dict[str, aws.ec2.Subnet]] = {tier: {} for tier in TIERS}
        for tier in TIERS:
            for az, subnet_cidr in subnet_plan[tier].items():
                self.subnets[tier][az] = aws.ec2.Subnet(
                    f"{name}-{tier}-{az}",
                    vpc_id=self.vpc.id,
                    cidr_block=subnet_cidr,
                    availability_zone=az,
                    map_public_ip_on_launch=False,  # FSBP EC2.15: nothing gets a public IP by accident
                    tags={"Name": f"{name}-{tier}-{az}", **_TIER_TAGS[tier]},
                    opts=self.child_opts(),
                )

        route_table_ids = self._routing(name, config.nat_strategy, azs, igw)
        self._flow_logs(name, args)
        self._endpoints(name, args, route_table_ids)

        self.vpc_id = self.vpc.id
        self.vpc_cidr = self.vpc.cidr_block
        self.availability_zones = list(azs)
        self.public_subnet_ids = [s.id for s in self.subnets["public"].values()]
        self.private_subnet_ids = [s.id for s in self.subnets["private"].values()]
        self.database_subnet_ids = [s.id for s in self.subnets["database"].values()]
        # Ranges, for rules that admit or reach a tier (network policies, the database's clients): known at
        # preview time, unlike the subnet ids.
        self.public_subnet_cidrs = list(subnet_plan["public"].values())
        self.database_subnet_cidrs = list(subnet_plan["database"].values())
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "vpc_cidr": self.vpc_cidr,
                "availability_zones": self.availability_zones,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "database_subnet_ids": self.database_subnet_ids,
                "public_subnet_cidrs": self.public_subnet_cidrs,
                "database_subnet_cidrs": self.database_subnet_cidrs,
            }
        )

    def _routing(
        self, name: str, nat_strategy: str, azs: tuple[str, ...], igw: aws.ec2.InternetGateway
    ) -> list[pulumi.Output[str]]:
        """Route tables per tier and the NAT gateways; returns the private and database route tables' ids (where
        gateway endpoints attach)."""
        # Public tier: one route table with the default route to the internet gateway.
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id, tags={"Name": f"{name}-public"}, opts=self.child_opts()
        )
        aws.ec2.Route(
            f"{name}-public-default-route",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=self.child_opts(),
        )
        for az, subnet in self.subnets["public"].items():
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{az}-rta", subnet_id=subnet.id, route_table_id=public_rt.id, opts=self.child_opts()
            )

        # NAT: in the first AZ only (single) or in every AZ (one_per_az), each in that AZ's public subnet.
        nat_azs = azs[:1] if nat_strategy == "single" else azs
        self.nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        for az in nat_azs:
            eip = aws.ec2.Eip(f"{name}-nat-{az}-eip", domain="vpc", tags={"Name": f"{name}-nat-{az}"},
                              opts=self.child_opts(depends_on=[igw]))  # fmt: skip
            self.nat_gateways[az] = aws.ec2.NatGateway(
                f"{name}-nat-{az}",
                allocation_id=eip.allocation_id,
                subnet_id=self.subnets["public"][az].id,
                connectivity_type="public",
                tags={"Name": f"{name}-nat-{az}"},
                opts=self.child_opts(depends_on=[igw]),
            )

        # Private tier: a route table per AZ, default route to the AZ's own NAT (or the single one).
        private_rts: dict[str, aws.ec2.RouteTable] = {}
        for az, subnet in self.subnets["private"].items():
            nat = self.nat_gateways.get(az) or self.nat_gateways[nat_azs[0]]
            private_rts[az] = aws.ec2.RouteTable(
                f"{name}-private-{az}-rt", vpc_id=self.vpc.id, tags={"Name": f"{name}-private-{az}"},
                opts=self.child_opts(),
            )  # fmt: skip
            aws.ec2.Route(
                f"{name}-private-{az}-default-route",
                route_table_id=private_rts[az].id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
                opts=self.child_opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{az}-rta", subnet_id=subnet.id, route_table_id=private_rts[az].id,
                opts=self.child_opts(),
            )  # fmt: skip

        # Database tier: no default route at all; only VPC-local traffic and the S3 gateway endpoint.
        database_rt = aws.ec2.RouteTable(
            f"{name}-database-rt", vpc_id=self.vpc.id, tags={"Name": f"{name}-database"}, opts=self.child_opts()
        )
        for az, subnet in self.subnets["database"].items():
            aws.ec2.RouteTableAssociation(
                f"{name}-database-{az}-rta", subnet_id=subnet.id, route_table_id=database_rt.id,
                opts=self.child_opts(),
            )  # fmt: skip

        return [*(rt.id for rt in private_rts.values()), database_rt.id]

    def _flow_logs(self, name: str, args: NetworkArgs) -> None:
        """VPC flow logs into a KMS-encrypted log group, written by a role only the flow-logs service can assume."""
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/aws/vpc/{name}/flow-logs",
            retention_in_days=args.config.flow_logs_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            opts=self.child_opts(),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            description=f"VPC flow logs of {name} write to their log group",
            # Confused-deputy guard: only flow logs of this account may use the role.
            assume_role_policy=service_trust_policy(args.aws, "vpc-flow-logs", source_account_guard=True),
            opts=self.child_opts(),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            opts=self.child_opts(),
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type=args.config.flow_logs_traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{name}-flow-log"},
            opts=self.child_opts(),
        )

    def _endpoints(self, name: str, args: NetworkArgs, route_table_ids: list[pulumi.Output[str]]) -> None:
        """S3 gateway endpoint (free) always; interface endpoints for the AWS APIs the config lists."""
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=self.vpc.id,
            service_name=args.aws.vpc_endpoint_service("s3", gateway=True),
            vpc_endpoint_type="Gateway",
            route_table_ids=route_table_ids,
            tags={"Name": f"{name}-s3"},
            opts=self.child_opts(),
        )
        if not args.config.interface_endpoints:
            return
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=self.vpc.id,
            description=f"HTTPS from inside {name} to the interface VPC endpoints",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    description="HTTPS from the VPC",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[args.config.cidr],
                )
            ],
            tags={"Name": f"{name}-endpoints"},
            opts=self.child_opts(),
        )
        for service in args.config.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}-endpoint",
                vpc_id=self.vpc.id,
                service_name=args.aws.vpc_endpoint_service(service),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in self.subnets["private"].values()],
                security_group_ids=[endpoint_sg.id],
                tags={"Name": f"{name}-{service}"},
                opts=self.child_opts(),
            )
