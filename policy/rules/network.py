"""Network rules: security-group ingress, the default security group, subnets, VPC flow logs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import HIGH, MEDIUM, StackIndex, as_strings, dig, items, resource_rule, stack_rule, tag, truthy

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"

WORLD = {"0.0.0.0/0", "::/0"}
# A security group tagged with this (value "true") fronts a public load balancer: 80/443 from anywhere is allowed.
PUBLIC_LB_TAG = "ai-platform/public-load-balancer"
PUBLIC_LB_PORTS = {80, 443}
# HTTPS, and the Kubernetes API on the EKS cluster security group: admitted only from these or from security groups.
API_PORT = 443
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
PRIVATE_NETWORKS = tuple(ipaddress.ip_network(cidr) for cidr in PRIVATE_RANGES)


def _is_private(cidr: str) -> bool:
    """True for a network inside a private range (malformed text raises ValueError: the rule fails closed)."""
    network = ipaddress.ip_network(cidr, strict=False)
    return any(
        network.network_address in private and network.broadcast_address in private for private in PRIVATE_NETWORKS
    )


def _ingress_problems(rule: Mapping[str, Any], public_lb: bool) -> Iterable[str]:
    """Messages for one ingress rule (inline `ingress` entry or standalone rule): open to the internet, or admitting
    443 from anything but a private range or a security group."""
    cidrs = sorted({str(c) for c in items(rule.get("cidrBlocks")) + items(rule.get("ipv6CidrBlocks"))})
    cidrs += [str(rule[key]) for key in ("cidrIpv4", "cidrIpv6") if rule.get(key)]
    prefix_lists = as_strings(rule.get("prefixListIds")) + as_strings(rule.get("prefixListId"))
    if not cidrs and not prefix_lists:
        return  # security-group sources only
    protocol = str(rule.get("protocol", rule.get("ipProtocol", "")))
    from_port, to_port = rule.get("fromPort"), rule.get("toPort")
    all_ports = protocol in ("-1", "all") or from_port is None
    ports: set[int] = set()
    if not all_ports and from_port is not None:
        ports = set(range(int(from_port), int(to_port if to_port is not None else from_port) + 1))
    shown = "all ports" if all_ports else f"ports {from_port}-{to_port}/{protocol}"
    open_to = [c for c in cidrs if c in WORLD]
    web_only = public_lb and ports and ports <= PUBLIC_LB_PORTS and protocol in ("tcp", "6")
    if open_to and not web_only:
        why = "" if public_lb else " (only a public load balancer's security group may accept 80/443 from the internet)"
        yield f"ingress from {', '.join(open_to)} on {shown}{why}"
    reaches_443 = protocol in ("-1", "all", "tcp", "6") and (all_ports or API_PORT in ports)
    if public_lb or not reaches_443:
        return
    public = [c for c in cidrs if c not in WORLD and not _is_private(c)] + [f"prefix list {p}" for p in prefix_lists]
    if public:
        yield (
            f"ingress on 443 ({shown}) from {', '.join(public)}: 443 (the Kubernetes API on the cluster security "
            f"group) is admitted only from private ranges ({', '.join(PRIVATE_RANGES)}) or security groups"
        )


@resource_rule(
    id="ec2-sg-no-world-ingress",
    area="network",
    types=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
    description=(
        "Security groups accept no ingress from 0.0.0.0/0 or ::/0, except 80/443 on a public load balancer; and "
        "443 (the Kubernetes API on the EKS cluster security group) only from private ranges (RFC 1918, "
        "100.64.0.0/10, IPv6 ULA) or security groups, never a public network or an unverifiable prefix list."
    ),
    severity=HIGH,
    remediation=(
        "Restrict the rule to the VPC CIDR or to a source security group. A public load balancer's security group "
        f"(tagged {PUBLIC_LB_TAG}=true) may accept TCP 80/443 from anywhere and nothing else. Deployers reach the "
        "Kubernetes API through cluster.deployer_cidrs (private ranges) or cluster.deployer_security_group_ids; the "
        "only public opening is the bootstrap endpoint (cluster.bootstrap_public_access_cidrs)."
    ),
    controls=("FSBP EC2.18", "FSBP EC2.19", "CIS 5.2", "CIS 5.3", "CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260"),
    # An unknown CIDR or port is computed from another resource (a VPC or subnet range), never the literal world;
    # `pulumi up` runs the rule again with the real values before creating the group.
    on_unknown="pass",
)
def sg_no_world_ingress(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    public_lb = truthy(tag(props, PUBLIC_LB_TAG))
    if resource_type == SECURITY_GROUP:
        for entry in items(props.get("ingress")):
            yield from _ingress_problems(entry, public_lb)
    elif resource_type == SECURITY_GROUP_RULE:
        if props.get("type") == "ingress":
            yield from _ingress_problems(props, False)
    else:
        yield from _ingress_problems(props, public_lb)


@resource_rule(
    id="ec2-default-sg-closed",
    area="network",
    types=(DEFAULT_SECURITY_GROUP,),
    description="The VPC's default security group has no ingress and no egress rules.",
    severity=MEDIUM,
    remediation="Declare aws.ec2.DefaultSecurityGroup for the VPC with ingress=[] and egress=[]; use dedicated groups.",
    controls=("FSBP EC2.2", "CIS 5.4", "CKV2_AWS_12"),
    on_unknown="fail",
)
def default_sg_closed(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    for direction in ("ingress", "egress"):
        count = len(items(props.get(direction)))
        if count:
            yield f"the default security group has {count} {direction} rule(s); it must have none"


@stack_rule(
    id="ec2-vpc-default-sg-managed",
    area="network",
    types=(VPC,),
    description="Every VPC takes over its default security group (declared, and so closed by ec2-default-sg-closed).",
    severity=MEDIUM,
    remediation="Declare aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id, ingress=[], egress=[]) for each VPC.",
    controls=("FSBP EC2.2", "CIS 5.4", "CKV2_AWS_12"),
    on_unknown="pass",
)
def vpc_default_sg_managed(vpc: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert vpc is not None
    if not index.dependents(vpc, DEFAULT_SECURITY_GROUP):
        yield f"VPC {vpc.name} leaves its default security group unmanaged (AWS's default allows traffic within it)"


@stack_rule(
    id="ec2-vpc-flow-logs",
    area="network",
    types=(VPC,),
    description="Every VPC has a flow log recording ALL traffic.",
    severity=MEDIUM,
    remediation="Declare aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type='ALL') into a KMS-encrypted log group or bucket.",
    controls=("FSBP EC2.6", "CIS 3.7", "CKV2_AWS_11"),
    on_unknown="fail",
)
def vpc_flow_logs(vpc: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert vpc is not None
    logs = index.dependents(vpc, FLOW_LOG)
    if not logs:
        yield f"VPC {vpc.name} has no flow log"
    elif not any(dig(log.props, "trafficType") == "ALL" for log in logs):
        yield f"VPC {vpc.name}'s flow log records only {dig(logs[0].props, 'trafficType')} traffic; record ALL"


@resource_rule(
    id="ec2-subnet-no-auto-public-ip",
    area="network",
    types=(SUBNET,),
    description="Subnets do not assign public IPv4 addresses to instances on launch.",
    severity=MEDIUM,
    remediation="Set map_public_ip_on_launch=False; load balancers and NAT gateways get their own addresses.",
    controls=("FSBP EC2.15", "CKV_AWS_130"),
    on_unknown="fail",
)
def subnet_no_auto_public_ip(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if truthy(props.get("mapPublicIpOnLaunch")):
        yield "mapPublicIpOnLaunch is true: every instance launched here gets a public IP"
