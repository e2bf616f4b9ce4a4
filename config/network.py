"""`ai-platform:network`: the VPC range, its AZs, NAT gateways, flow logs and interface endpoints."""

from __future__ import annotations

import ipaddress
import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.errors import FieldError
from config.types import LogRetentionDays, Section

PRIVATE_RANGES = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)
# Smallest private (workload) subnet: EKS's VPC CNI hands every pod an address from it.
MIN_PRIVATE_SUBNET_PREFIX = 22
InterfaceEndpoint = Literal["ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs"]
INTERFACE_ENDPOINTS: tuple[InterfaceEndpoint, ...] = ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs")


def subnet_slots(az_count: int) -> int:
    """Subnets per tier are carved in a power-of-two grid, so growing to more AZs never moves existing ranges."""
    return 1 << max(1, math.ceil(math.log2(az_count)))


def _parse_private_cidr(cidr: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{cidr!r} is not an IPv4 network ({error}); allowed: e.g. 10.0.0.0/16 with host bits zero"
        ) from None
    if not any(network.subnet_of(r) for r in PRIVATE_RANGES):
        raise ValueError(f"{cidr} is not a private range; allowed: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
    if network.prefixlen < 16:
        raise ValueError(f"{cidr} is larger than a VPC can be; allowed: a prefix from /16 (AWS maximum)")
    return network


def _check_private_cidr(cidr: str) -> str:
    """Allowed: a private IPv4 range (inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16), host bits zero, prefix
    /16 up to the size the AZs need (each private subnet at least /22)."""
    return str(_parse_private_cidr(cidr))


class NetworkConfig(Section):
    """`ai-platform:network`: the VPC and how it reaches the internet and AWS APIs."""

    cidr: Annotated[str, AfterValidator(_check_private_cidr)] = Field(
        "10.0.0.0/16", description="VPC IPv4 range: private (RFC 1918), /16 to the size the AZs need."
    )
    az_count: int = Field(3, ge=2, le=6, description="Availability zones to spread subnets over (2-6).")
    availability_zones: tuple[str, ...] | None = Field(
        None, description="Explicit AZ names (e.g. us-east-1a); default: the first az_count AZs the region offers."
    )
    nat_strategy: Literal["single", "one_per_az"] = Field(
        "one_per_az", description="One NAT gateway for the VPC (cheap) or one per AZ (survives an AZ outage)."
    )
    flow_logs_retention_days: LogRetentionDays = Field(365, description="Retention of the VPC flow-log group.")
    flow_logs_traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = Field(
        "ALL", description="Traffic the flow log records."
    )
    interface_endpoints: tuple[InterfaceEndpoint, ...] = Field(
        INTERFACE_ENDPOINTS, description="Interface VPC endpoints to create (the S3 gateway endpoint always exists)."
    )

    @model_validator(mode="after")
    def _check(self) -> NetworkConfig:
        network = ipaddress.IPv4Network(self.cidr)
        slots = subnet_slots(self.az_count)
        private_prefix = network.prefixlen + 1 + int(math.log2(slots))
        if private_prefix > MIN_PRIVATE_SUBNET_PREFIX:
            largest = MIN_PRIVATE_SUBNET_PREFIX - 1 - int(math.log2(slots))
            raise FieldError(
                "cidr",
                f"{self.cidr} is too small for {self.az_count} AZs (private subnets would be /{private_prefix}, "
                f"too few pod IPs); allowed: a prefix from /16 to /{largest}",
            )
        if self.availability_zones is not None and len(self.availability_zones) != self.az_count:
            raise FieldError(
                "availability_zones",
                f"{len(self.availability_zones)} names given but az_count is {self.az_count}; "
                f"allowed: exactly az_count distinct AZ names",
            )
        return self
