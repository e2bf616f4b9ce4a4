"""`ai-platform:cluster`: the EKS control plane, its administrators, managed node groups and EKS add-on builds."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.errors import FieldError
from config.types import LogRetentionDays, Section

# EKS Kubernetes versions the platform accepts. Default: the newest one in EKS standard support that every pinned
# add-on (EKS add-on builds, Karpenter) supports; see the README's "Cluster and add-ons".
# Versions in EKS standard support (checked 2026-11; the policy pack's `eks-supported-version` uses the same list).
EKS_VERSIONS: tuple[str, ...] = ("1.34", "1.35", "1.36", "1.37")
DEFAULT_EKS_VERSION = "1.34"
# The control-plane log types EKS offers; all of them are always on (CIS EKS 2.1.1).
EKS_LOG_TYPES: tuple[str, ...] = ("api", "audit", "authenticator", "controllerManager", "scheduler")
_EKS_ADDON_VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$")


_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_IAM_ROLE_NAME = re.compile(r"^([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
# Label prefixes Kubernetes, EKS and Karpenter reserve, or that kubelet may not set on itself (NodeRestriction);
# node.kubernetes.io/ stays open to users.
_RESERVED_LABEL_PREFIXES = (
    "kubernetes.io/", "k8s.io/", "node-role.kubernetes.io/", "eks.amazonaws.com/",
    "karpenter.sh/", "karpenter.k8s.aws/",
)  # fmt: skip


def _check_eks_addon_version(version: str) -> str:
    """Allowed: an EKS add-on build vX.Y.Z-eksbuild.N."""
    if not _EKS_ADDON_VERSION.fullmatch(version):
        raise ValueError(f"{version!r} is not an EKS add-on version; allowed: e.g. v1.20.4-eksbuild.2")
    return version


def _check_public_cidr(cidr: str) -> str:
    """Allowed: an IPv4 network, e.g. 198.51.100.0/24."""
    try:
        return str(ipaddress.IPv4Network(cidr, strict=True))
    except (ValueError, TypeError) as error:
        raise ValueError(f"{cidr!r} is not an IPv4 network ({error}); allowed: e.g. 198.51.100.0/24") from None


# Deployer access to the Kubernetes API (README "First deployment"), and the bounds each list keeps:
# - deployer_cidrs reach the *private* endpoint from networks connected to the VPC (VPN, Transit Gateway, peering),
#   so they are private ranges (RFC 1918, or 100.64.0.0/10, which VPN services hand out) and no wider than /16: the
#   largest VPC AWS allows, so a whole peered VPC fits, while 10.0.0.0/8 would admit the whole organisation.
# - bootstrap_public_access_cidrs open the *public* endpoint for the first deployment only, to the deployer's
#   internet egress address: an address the internet can see as a source, no wider than /28 (a laptop's /32 or a
#   small NAT pool; a hosted CI fleet's ranges are far wider and shared with every other customer).
DEPLOYER_WIDEST_PREFIX = 16
BOOTSTRAP_WIDEST_PREFIX = 28
_DEPLOYER_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
# Sources the public endpoint never sees: private, shared, loopback, link-local, "this network", multicast, reserved.
_NOT_INTERNET_SOURCES = (
    *_DEPLOYER_RANGES,
    *(ipaddress.IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")),
)
_SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")


def _deployer_network(cidr: str, example: str) -> ipaddress.IPv4Network:
    """`cidr` as a network: ASCII, IPv4, no host bits set, never the whole internet; else a ValueError."""
    if not cidr.isascii() or cidr != cidr.strip():
        raise ValueError(f"{cidr!r} is not an ASCII IPv4 network; allowed: e.g. {example}")
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{cidr!r} is not an IPv4 network ({error}); allowed: e.g. {example}") from None
    if network.prefixlen == 0:
        raise ValueError(f"{cidr} would open the Kubernetes API to the internet; allowed: never, e.g. {example}")
    return network


def _check_deployer_cidr(cidr: str) -> str:
    """Allowed: a private IPv4 network (inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10), /16 or
    narrower, e.g. 10.200.0.0/22."""
    network = _deployer_network(cidr, "10.200.0.0/22")
    if network.prefixlen < DEPLOYER_WIDEST_PREFIX:
        raise ValueError(
            f"{cidr} is wider than /{DEPLOYER_WIDEST_PREFIX} (it would admit far more than the deployers); allowed: "
            f"the deployers' network, /{DEPLOYER_WIDEST_PREFIX} or narrower"
        )
    if not any(network.subnet_of(private) for private in _DEPLOYER_RANGES):
        raise ValueError(
            f"{cidr} is not a private range (the private endpoint is reached over VPN, Transit Gateway or peering); "
            "allowed: inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10"
        )
    return str(network)


def _check_bootstrap_cidr(cidr: str) -> str:
    """Allowed: a public IPv4 network, /28 or narrower: your internet egress address as a /32
    (`curl https://checkip.amazonaws.com`)."""
    network = _deployer_network(cidr, "203.0.113.10/32")
    if network.prefixlen < BOOTSTRAP_WIDEST_PREFIX:
        raise ValueError(
            f"{cidr} is wider than /{BOOTSTRAP_WIDEST_PREFIX}; allowed: your egress address as a /32, at most a "
            f"/{BOOTSTRAP_WIDEST_PREFIX}"
        )
    if any(network.subnet_of(hidden) for hidden in _NOT_INTERNET_SOURCES):
        raise ValueError(
            f"{cidr} is not an internet address (the public endpoint sees your egress address); allowed: the output "
            "of `curl https://checkip.amazonaws.com` as a /32"
        )
    return str(network)


def _check_security_group_id(group_id: str) -> str:
    """Allowed: a security group id, sg- and 8 or 17 hex digits."""
    if not _SECURITY_GROUP_ID.fullmatch(group_id):
        raise ValueError(f"{group_id!r} is not a security group id; allowed: e.g. sg-0123456789abcdef0")
    return group_id


def _overlaps(cidrs: tuple[str, ...]) -> list[str]:
    """Distinct networks of `cidrs` that overlap one another, in words (repeats: `Section`'s duplicate check)."""
    networks = [ipaddress.IPv4Network(c) for c in cidrs]
    return [f"{a} overlaps {b}" for i, a in enumerate(networks) for b in networks[i + 1 :] if a != b and a.overlaps(b)]


def _check_role_name(name: str) -> str:
    """Allowed: an IAM role name of the deploying account, path allowed
    (aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_...)."""
    if not _IAM_ROLE_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an IAM role name; allowed: a role name in this account, optionally with its path "
            "(e.g. platform-admin or aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123abcd)"
        )
    return name


def is_graviton(instance_type: str) -> bool:
    """Graviton (arm64) families carry a `g` after the generation digit: m7g, c7gn, r8gd, t4g, x2gd..."""
    family = instance_type.split(".")[0]
    return bool(re.fullmatch(r"[a-z]+[0-9]+g[a-z]*", family)) and not family.startswith(("g", "p", "inf", "trn", "dl"))


EksAddonVersion = Annotated[str, AfterValidator(_check_eks_addon_version)]
DeployerCidr = Annotated[str, AfterValidator(_check_deployer_cidr)]
BootstrapCidr = Annotated[str, AfterValidator(_check_bootstrap_cidr)]
SecurityGroupId = Annotated[str, AfterValidator(_check_security_group_id)]
IamRoleName = Annotated[str, AfterValidator(_check_role_name)]


class NodeTaint(Section):
    """A Kubernetes taint on every node of a managed node group."""

    key: str = Field(description="Taint key (a Kubernetes label key).")
    value: str = Field("", description="Taint value (may be empty).")
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"] = Field(
        "NO_SCHEDULE", description="EKS taint effect."
    )

    @model_validator(mode="after")
    def _check(self) -> NodeTaint:
        if not _LABEL_KEY.fullmatch(self.key):
            raise FieldError("key", f"{self.key!r} is not a label key; allowed: [prefix/]name, name <= 63 chars")
        if not _LABEL_VALUE.fullmatch(self.value):
            raise FieldError("value", f"{self.value!r} is not a label value; allowed: <= 63 alphanumerics, - _ .")
        return self


class NodeGroupConfig(Section):
    """One EKS managed node group (nodes always in the private subnets, IMDSv2 only, encrypted gp3 root volume)."""

    instance_types: tuple[str, ...] = Field(
        ("m6i.large",), min_length=1, max_length=20,
        description="EC2 instance types, in order of preference (same vCPU/memory shape for predictable scaling); "
        "Graviton types (m7g, c7g...) need ami_type AL2023_ARM_64_STANDARD.",
    )  # fmt: skip
    capacity_type: Literal["ON_DEMAND", "SPOT"] = Field("ON_DEMAND", description="ON_DEMAND or SPOT capacity.")
    ami_type: Literal["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"] = Field(
        "AL2023_x86_64_STANDARD", description="EKS-optimised Amazon Linux 2023 AMI family (x86_64 or arm64)."
    )
    min_size: int = Field(2, ge=0, le=450, description="Minimum node count.")
    desired_size: int = Field(
        2, ge=0, le=450, description="Node count at creation (min_size <= desired_size <= max_size); autoscaling owns "
        "it later, and later changes by autoscaling are kept.",
    )  # fmt: skip
    max_size: int = Field(4, ge=1, le=450, description="Maximum node count.")
    disk_size_gib: int = Field(50, ge=20, le=16384, description="Root volume size (encrypted gp3), GiB.")
    max_unavailable_percent: int = Field(33, ge=1, le=100, description="Share of nodes replaced at once on update.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Kubernetes labels on every node (`node.kubernetes.io/node-group: <name>` is always added); not "
        "under kubernetes.io/, k8s.io/, eks.amazonaws.com/ or karpenter.*.",
    )
    taints: tuple[NodeTaint, ...] = Field((), description="Kubernetes taints on every node.")

    @model_validator(mode="after")
    def _check(self) -> NodeGroupConfig:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise FieldError(
                "desired_size",
                f"min_size {self.min_size} <= desired_size {self.desired_size} <= max_size {self.max_size} does not "
                "hold; allowed: min_size <= desired_size <= max_size",
            )
        bad = [t for t in self.instance_types if not _INSTANCE_TYPE.fullmatch(t)]
        if bad:
            raise FieldError("instance_types", f"{', '.join(bad)} not EC2 instance types; allowed: e.g. m6i.large")
        arm = self.ami_type == "AL2023_ARM_64_STANDARD"
        mismatched = [t for t in self.instance_types if is_graviton(t) != arm]
        if mismatched:
            raise FieldError(
                "instance_types",
                f"{', '.join(mismatched)} do not run {self.ami_type}; allowed: Graviton types (m7g, c7g...) with "
                "AL2023_ARM_64_STANDARD, x86_64 types with AL2023_x86_64_STANDARD",
            )
        for key, value in self.labels.items():
            if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
                raise FieldError("labels", f"{key}={value!r} is not a valid label; allowed: Kubernetes label syntax")
            if key.startswith(_RESERVED_LABEL_PREFIXES):
                raise FieldError(
                    "labels", f"{key} uses a reserved prefix; allowed: outside {', '.join(_RESERVED_LABEL_PREFIXES)}"
                )
        return self


class EksAddonVersions(Section):
    """Pinned EKS managed add-on versions (`aws eks describe-addon-versions --kubernetes-version <v>`)."""

    vpc_cni: EksAddonVersion = Field("v1.20.4-eksbuild.2", description="vpc-cni (network policy enforcement on).")
    kube_proxy: EksAddonVersion = Field(
        "v1.34.1-eksbuild.2",
        description="kube-proxy, built for the cluster's minor version: changing cluster.version means changing this "
        "(and usually the other builds) in the same change.",
    )
    coredns: EksAddonVersion = Field("v1.12.3-eksbuild.1", description="coredns.")
    ebs_csi_driver: EksAddonVersion = Field("v1.48.0-eksbuild.2", description="aws-ebs-csi-driver (own IRSA role).")


class ClusterConfig(Section):
    """`ai-platform:cluster`: the EKS control plane, who administers it, its node groups and core add-ons."""

    version: str = Field(
        DEFAULT_EKS_VERSION, description="Kubernetes version of the control plane and node groups.",
        json_schema_extra={"allowed": f"one of {', '.join(EKS_VERSIONS)} (EKS standard support, checked 2026-11)"},
    )  # fmt: skip
    support_type: Literal["STANDARD", "EXTENDED"] = Field(
        "STANDARD", description="EKS upgrade policy: STANDARD (auto-upgraded when support ends) or EXTENDED (paid)."
    )
    endpoint_public_access: bool = Field(False, description="Public API endpoint (private access is always on).")
    public_access_cidrs: tuple[Annotated[str, AfterValidator(_check_public_cidr)], ...] = Field(
        (), description="CIDRs allowed to reach the public endpoint; required when endpoint_public_access is on."
    )
    allow_public_endpoint_from_anywhere: bool = Field(
        False, description="Explicit opt-in to 0.0.0.0/0 in public_access_cidrs (the policy pack still flags it)."
    )
    deployer_cidrs: tuple[DeployerCidr, ...] = Field(
        (), max_length=20,
        description="Private networks of the deployers (VPN, Transit Gateway or peered VPC, where CI runners live) "
        "that the cluster security group admits on 443, so they reach the private endpoint; README \"First "
        "deployment\".",
    )  # fmt: skip
    deployer_security_group_ids: tuple[SecurityGroupId, ...] = Field(
        (), max_length=10,
        description="Security groups (this VPC, or a peered VPC of the same region) of the deployers, e.g. a "
        "self-hosted CI runner, that the cluster security group admits on 443.",
    )  # fmt: skip
    bootstrap_public_access_cidrs: tuple[BootstrapCidr, ...] = Field(
        (), max_length=5,
        description="First deployment only: opens the public endpoint to these addresses (your egress /32) while no "
        "deployer can reach the private one yet; remove once deployer_cidrs or deployer_security_group_ids work.",
    )  # fmt: skip
    admin_roles: tuple[IamRoleName, ...] = Field(
        ("platform-admin",), min_length=1,
        description="IAM role names (this account, optional path) granted cluster admin by EKS access entries.",
    )  # fmt: skip
    viewer_roles: tuple[IamRoleName, ...] = Field(
        (), description="IAM role names granted read-only cluster access (AmazonEKSViewPolicy)."
    )
    log_retention_days: LogRetentionDays = Field(365, description="Retention of the control-plane log group.")
    deletion_protection: bool = Field(True, description="EKS deletion protection on the cluster.")
    imds_hop_limit: int = Field(
        1, ge=1, le=2, description="IMDSv2 hop limit on nodes: 1 keeps pods (which use IRSA) off the node role."
    )
    node_groups: dict[str, NodeGroupConfig] = Field(
        default_factory=lambda: {
            "system": NodeGroupConfig(
                instance_types=("m6i.xlarge", "m6a.xlarge"),
                min_size=3,
                desired_size=3,
                max_size=6,
                labels={"node.kubernetes.io/pool": "system"},
                taints=(NodeTaint(key="CriticalAddonsOnly", value="true"),),
            )
        },
        description="Managed node groups keyed by name; a `system` group (for add-ons) is required.",
    )
    addon_versions: EksAddonVersions = Field(default_factory=EksAddonVersions, description="EKS add-on versions.")

    @model_validator(mode="after")
    def _check_deployer_access(self) -> ClusterConfig:
        """Deployer networks without overlaps; the bootstrap endpoint is not mixed with a permanent one."""
        for key in ("deployer_cidrs", "bootstrap_public_access_cidrs"):
            overlapping = _overlaps(getattr(self, key))
            if overlapping:
                raise FieldError(key, f"{'; '.join(overlapping)}; allowed: each network once, none inside another")
        if self.bootstrap_public_access_cidrs and (self.endpoint_public_access or self.public_access_cidrs):
            raise FieldError(
                "bootstrap_public_access_cidrs",
                "set together with endpoint_public_access/public_access_cidrs; allowed: one of them (the bootstrap "
                "opens the public endpoint itself, for the first deployment only)",
            )
        return self

    @model_validator(mode="after")
    def _check(self) -> ClusterConfig:
        if self.version not in EKS_VERSIONS:
            raise FieldError("version", f"{self.version!r} is not supported; allowed: {', '.join(EKS_VERSIONS)}")
        proxy_minor = ".".join(self.addon_versions.kube_proxy.removeprefix("v").split(".")[:2])
        if proxy_minor != self.version:
            raise FieldError(
                "addon_versions.kube_proxy",
                f"{self.addon_versions.kube_proxy} is for Kubernetes {proxy_minor} but the cluster runs "
                f"{self.version}; allowed: a build v{self.version}.x-eksbuild.N",
            )
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise FieldError(
                "public_access_cidrs", "endpoint_public_access is on but no CIDRs are listed; allowed: operator CIDRs"
            )
        if not self.endpoint_public_access and self.public_access_cidrs:
            raise FieldError(
                "public_access_cidrs", "CIDRs listed but endpoint_public_access is off; allowed: [] or turn it on"
            )
        world = [c for c in self.public_access_cidrs if ipaddress.IPv4Network(c).prefixlen == 0]
        if world and not self.allow_public_endpoint_from_anywhere:
            raise FieldError(
                "public_access_cidrs",
                f"{', '.join(world)} opens the Kubernetes API to the internet; allowed: specific CIDRs, or set "
                "allow_public_endpoint_from_anywhere: true",
            )
        if "system" not in self.node_groups:
            raise FieldError(
                "node_groups",
                f"no `system` group (got {', '.join(self.node_groups) or 'none'}); allowed: a map with `system`",
            )
        for key in self.node_groups:
            if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", key):
                raise FieldError("node_groups", f"{key!r} is not a group key; allowed: [a-z][a-z0-9-], <= 20 chars")
        both = sorted(set(self.admin_roles) & set(self.viewer_roles))
        if both:
            raise FieldError("viewer_roles", f"{', '.join(both)} also in admin_roles; allowed: disjoint lists")
        return self
