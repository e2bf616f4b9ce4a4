"""Network: subnets per tier and AZ, NAT per environment, flow logs, the default SG, endpoints, tags."""

from __future__ import annotations

import ipaddress
import itertools
import json

import pytest

from components.network import plan_subnets
from config import MANDATORY_TAG_KEYS, REQUIRED_USER_TAG_KEYS
from lib.tagging import is_taggable
from tests.conftest import sdk_class, stack_config


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


NETWORK = "ai-platform:network:Network"


def network_resources(plan, type_: str):
    component = plan.component(NETWORK)
    return [r for r in plan.descendants(component.urn) if r.type == type_]


def test_dev_has_one_nat_gateway_and_prod_one_per_az(plan_of) -> None:
    dev_nats = plan_of("dev").by_type("aws:ec2/natGateway:NatGateway")
    prod_nats = plan_of("prod").by_type("aws:ec2/natGateway:NatGateway")
    assert len(dev_nats) == 1
    assert len(prod_nats) == stack_config("prod").network.az_count == 3
    prod_public = {s.urn: s.inputs["availabilityZone"] for s in plan_of("prod").by_type("aws:ec2/subnet:Subnet")}
    nat_azs = {prod_public[next(d for d in n.dependencies if d in prod_public)] for n in prod_nats}
    assert len(nat_azs) == 3, "each prod NAT gateway sits in a different AZ"


def test_each_private_route_table_defaults_to_its_own_azs_nat_in_prod(plan_of) -> None:
    plan = plan_of("prod")
    routes = [r for r in plan.by_type("aws:ec2/route:Route") if "natGatewayId" in r.inputs]
    assert len({r.inputs["natGatewayId"] for r in routes}) == 3
    assert all(r.inputs["destinationCidrBlock"] == "0.0.0.0/0" for r in routes)


def test_subnets_are_inside_the_vpc_and_pairwise_disjoint(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    [vpc] = plan.by_type("aws:ec2/vpc:Vpc")
    vpc_range = ipaddress.ip_network(vpc.inputs["cidrBlock"])
    subnets = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in plan.by_type("aws:ec2/subnet:Subnet")]
    assert len(subnets) == 3 * stack_config(any_stack).network.az_count
    assert all(s.subnet_of(vpc_range) for s in subnets)
    for a, b in itertools.combinations(subnets, 2):
        assert not a.overlaps(b), f"{a} overlaps {b}"


def test_private_subnets_are_big_enough_for_pod_ips(plan_of, any_stack) -> None:
    subnets = plan_of(any_stack).by_type("aws:ec2/subnet:Subnet")
    private = [s for s in subnets if s.inputs["tags"]["tier"] == "private"]
    assert all(ipaddress.ip_network(s.inputs["cidrBlock"]).num_addresses >= 1024 for s in private)


def test_no_subnet_hands_out_public_ips(plan_of) -> None:
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in plan_of("prod").by_type("aws:ec2/subnet:Subnet"))


def test_load_balancer_discovery_tags_per_tier(plan_of) -> None:
    for subnet in plan_of("prod").by_type("aws:ec2/subnet:Subnet"):
        tags = subnet.inputs["tags"]
        assert (tags.get("kubernetes.io/role/elb") == "1") == (tags["tier"] == "public")
        assert (tags.get("kubernetes.io/role/internal-elb") == "1") == (tags["tier"] == "private")


def test_database_subnets_have_no_route_to_the_internet(plan_of) -> None:
    plan = plan_of("prod")
    database_rt = plan.by_name("prod-network-database-rt")
    assert not [r for r in plan.by_type("aws:ec2/route:Route") if database_rt.urn in r.dependencies]


def test_growing_the_az_count_never_moves_existing_subnets() -> None:
    two = plan_subnets("10.0.0.0/16", ["a", "b"])
    three = plan_subnets("10.0.0.0/16", ["a", "b", "c"])
    four = plan_subnets("10.0.0.0/16", ["a", "b", "c", "d"])
    for tier in two:
        assert three[tier]["a"] == four[tier]["a"]
        assert three[tier]["b"] == four[tier]["b"]


def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group_with_retention(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    [flow_log] = plan.by_type("aws:ec2/flowLog:FlowLog")
    [log_group] = network_resources(plan, "aws:cloudwatch/logGroup:LogGroup")
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert log_group.urn in flow_log.dependencies
    assert log_group.inputs["retentionInDays"] == stack_config(any_stack).network.flow_logs_retention_days
    logs_key = plan.by_name(f"{any_stack}-identity-logs-key")
    assert log_group.inputs["kmsKeyId"].endswith(logs_key.name + "-key-id")


def test_flow_log_role_is_only_for_this_accounts_flow_logs(plan_of) -> None:
    [role] = network_resources(plan_of("dev"), "aws:iam/role:Role")
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]


def test_default_security_group_is_stripped_of_all_rules(plan_of, any_stack) -> None:
    [default_sg] = plan_of(any_stack).by_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.inputs.get("ingress", []) == []
    assert default_sg.inputs.get("egress", []) == []


def test_s3_gateway_endpoint_always_and_interface_endpoints_per_config(plan_of) -> None:
    def endpoints(stack: str) -> dict[str, str]:
        prefix = f"com.amazonaws.{stack_config(stack).region}."
        found = plan_of(stack).by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        return {e.inputs["serviceName"].removeprefix(prefix): e.inputs["vpcEndpointType"] for e in found}

    assert endpoints("dev") == {"s3": "Gateway"}
    prod = endpoints("prod")
    assert prod.pop("s3") == "Gateway"
    assert set(prod.values()) == {"Interface"}
    assert set(prod) == set(stack_config("prod").network.interface_endpoints)
    assert set(prod) == {"ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs"}


def test_interface_endpoints_admit_only_https_from_the_vpc(plan_of) -> None:
    [sg] = network_resources(plan_of("prod"), "aws:ec2/securityGroup:SecurityGroup")
    [rule] = sg.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (443, 443, "tcp")
    assert rule["cidrBlocks"] == [stack_config("prod").network.cidr]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_taggable_aws_resource_carries_the_mandatory_tags(plan_of, stack: str) -> None:
    """Across the whole stack, not just the network: the tagging transformation reaches every component."""
    import pulumi_aws  # noqa: F401 - registers the resource modules the type lookup below needs

    plan = plan_of(stack)
    checked = 0
    for resource in plan.resources:
        cls = sdk_class(resource.type) if resource.custom else None
        if cls is None or not is_taggable(cls):
            continue
        tags = resource.inputs.get("tags") or {}
        missing = [k for k in (*MANDATORY_TAG_KEYS, *REQUIRED_USER_TAG_KEYS) if not tags.get(k)]
        assert not missing, f"{resource.urn} lacks {missing}"
        assert tags["environment"] == stack
        assert tags["stack"] == stack
        checked += 1
    assert checked > 20


def test_component_tag_names_the_declaring_component(plan_of) -> None:
    plan = plan_of("prod")
    assert plan.by_name("prod-network-vpc").inputs["tags"]["component"] == "network"
    assert plan.by_name("prod-identity-eks-key").inputs["tags"]["component"] == "identity"


CHINA_CERTIFICATE = "arn:aws-cn:acm:cn-north-1:123456789012:certificate/0b7e2c1a-4d5f-4a8e-9c3b-1f2d3e4a5b6c"


def test_endpoint_service_names_follow_the_partition_in_china(plan_of) -> None:
    """In the China regions ECR and STS interface endpoints are `cn.com.amazonaws.*`; logs and the S3 gateway
    are not: a name from the wrong partition makes the endpoint creation fail."""
    plan = plan_of(
        "dev",
        {
            "aws:region": "cn-north-1",
            "ai-platform:network": {"interface_endpoints": ["ecr.api", "sts", "logs"]},
            "ai-platform:api": {"certificate_arn": CHINA_CERTIFICATE},
        },
    )
    names = {r.inputs["serviceName"] for r in plan.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert names == {
        "com.amazonaws.cn-north-1.s3",
        "cn.com.amazonaws.cn-north-1.ecr.api",
        "cn.com.amazonaws.cn-north-1.sts",
        "com.amazonaws.cn-north-1.logs",
    }
