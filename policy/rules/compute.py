"""Compute rules: EKS (the pulumi-eks component offline and its aws:eks children in a real preview), node
groups and launch templates, ECR repositories."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .core import ADVISORY, CRITICAL, HIGH, MEDIUM, Param, as_strings, dig, items, mapping, resource_rule, truthy

EKS_COMPONENT = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_MANAGED_NODE_GROUP = "eks:index:ManagedNodeGroup"
EKS_NODE_GROUP_V2 = "eks:index:NodeGroupV2"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ECR_REPOSITORY = "aws:ecr/repository:Repository"

CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# Kubernetes versions in EKS standard support (checked 2026-11); pack config can move the window.
SUPPORTED_EKS_VERSIONS = ["1.34", "1.35", "1.36", "1.37"]
# The tag components/cluster.py puts on the EKS cluster while its public endpoint is the first deployment's opening.
PUBLIC_ENDPOINT_TAG = "ai-platform/public-endpoint"
BOOTSTRAP_TAG_VALUE = "bootstrap"


def _endpoint(resource_type: str, props: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """(public endpoint on, its public CIDRs) in either view; AWS defaults are public and 0.0.0.0/0."""
    source = props if resource_type == EKS_COMPONENT else mapping(props.get("vpcConfig"))
    public = source.get("endpointPublicAccess", True)
    return (public is None or truthy(public)), as_strings(source.get("publicAccessCidrs"))


def _is_bootstrap(resource_type: str, props: Mapping[str, Any]) -> bool:
    """True when the cluster carries the bootstrap tag: on pulumi-eks' `clusterTags` (or `tags`, which it also puts
    on the cluster) offline, on the `aws:eks/cluster:Cluster` child's `tags` in a real preview."""
    sources = ("clusterTags", "tags") if resource_type == EKS_COMPONENT else ("tags",)
    for key in sources:
        value = mapping(props.get(key)).get(PUBLIC_ENDPOINT_TAG)
        if value is not None:
            return str(value) == BOOTSTRAP_TAG_VALUE
    return False


@resource_rule(
    id="eks-endpoint-not-public",
    area="compute",
    types=(EKS_COMPONENT, EKS_CLUSTER),
    description=(
        "The EKS API endpoint is private. The one exception is the first deployment's bootstrap opening: public to an "
        f"allow-list of CIDRs (never 0.0.0.0/0) on a cluster tagged {PUBLIC_ENDPOINT_TAG}={BOOTSTRAP_TAG_VALUE}, "
        "reported by eks-endpoint-bootstrap-open until it is closed."
    ),
    severity=CRITICAL,
    remediation=(
        "Keep endpoint_public_access off and reach the private endpoint through cluster.deployer_cidrs or "
        'cluster.deployer_security_group_ids (README "First deployment"); for the first run only, '
        "cluster.bootstrap_public_access_cidrs opens it to your /32 and tags the cluster. Mandatory in every "
        "environment, dev included: Security Hub EKS.1 and CIS EKS 5.4.2 fail any public endpoint, allow-listed or "
        "not, a dev cluster's API is as exposed as any other, and the deployer paths serve every environment."
    ),
    controls=("FSBP EKS.1", "CIS EKS 5.4.2", "CKV_AWS_39", "CKV_AWS_38"),
    on_unknown="fail",
)
def eks_endpoint_not_public(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    public, allowed = _endpoint(resource_type, props)
    if not public:
        return
    if not allowed:
        yield "the API endpoint is public with no publicAccessCidrs (AWS opens it to 0.0.0.0/0)"
    elif {"0.0.0.0/0", "::/0"} & set(allowed):
        yield f"the API endpoint is public to the whole internet (publicAccessCidrs {allowed})"
    elif not _is_bootstrap(resource_type, props):
        yield (
            f"the API endpoint is permanently public (publicAccessCidrs {allowed}, no "
            f"{PUBLIC_ENDPOINT_TAG}={BOOTSTRAP_TAG_VALUE} tag); deployers reach the private endpoint instead"
        )


@resource_rule(
    id="eks-endpoint-bootstrap-open",
    area="compute",
    types=(EKS_COMPONENT, EKS_CLUSTER),
    description=(
        "Reminder: the EKS API endpoint is still public for the first deployment (tagged "
        f"{PUBLIC_ENDPOINT_TAG}={BOOTSTRAP_TAG_VALUE}). Advisory in every environment, so the first run passes and "
        "every later run shows the opening until it is closed."
    ),
    severity=MEDIUM,
    enforcement=ADVISORY,
    remediation=(
        "Once cluster.deployer_cidrs or cluster.deployer_security_group_ids reach the private endpoint, delete "
        "cluster.bootstrap_public_access_cidrs from the stack file and run `pulumi up` from the deployer path (README "
        '"First deployment", step 6).'
    ),
    controls=("FSBP EKS.1", "CIS EKS 5.4.2"),
    # A reminder, not a gate: an unknown tag or flag says nothing either way.
    on_unknown="pass",
)
def eks_endpoint_bootstrap_open(
    resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterable[str]:
    public, allowed = _endpoint(resource_type, props)
    if public and _is_bootstrap(resource_type, props):
        yield (
            f"the API endpoint is open to {', '.join(allowed) or 'everyone'} for the first deployment; close it once "
            "the deployers reach the private endpoint"
        )


@resource_rule(
    id="eks-secrets-encryption",
    area="compute",
    types=(EKS_COMPONENT, EKS_CLUSTER),
    description="EKS envelope-encrypts Kubernetes secrets with a customer-managed KMS key.",
    severity=HIGH,
    remediation=(
        "Pass encryption_config_key_arn (pulumi-eks) / encryption_config with resources=['secrets'] and the eks KMS "
        "key."
    ),
    controls=("FSBP EKS.3", "CIS EKS 5.3.1", "CKV_AWS_58"),
    on_unknown="pass",
)
def eks_secrets_encryption(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if resource_type == EKS_COMPONENT:
        if not props.get("encryptionConfigKeyArn"):
            yield "encryptionConfigKeyArn is not set: Kubernetes secrets are stored unencrypted by a customer key"
        return
    config = mapping(props.get("encryptionConfig"))
    if not dig(config, "provider", "keyArn") or "secrets" not in as_strings(config.get("resources")):
        yield "encryptionConfig does not encrypt 'secrets' with a KMS key"


@resource_rule(
    id="eks-control-plane-logging",
    area="compute",
    types=(EKS_COMPONENT, EKS_CLUSTER),
    description="EKS ships every control-plane log type (api, audit, authenticator, controllerManager, scheduler).",
    severity=MEDIUM,
    remediation="Set enabled_cluster_log_types to all five types; the log group is KMS-encrypted with a retention.",
    controls=("FSBP EKS.8", "CIS EKS 2.1.1", "CKV_AWS_37"),
    on_unknown="fail",
    params={
        "requiredLogTypes": Param(
            CONTROL_PLANE_LOG_TYPES,
            {"type": "array", "items": {"type": "string"}},
            "Control-plane log types that must be enabled.",
        ),
    },
)
def eks_control_plane_logging(_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    enabled = set(as_strings(props.get("enabledClusterLogTypes")))
    missing = [t for t in config["requiredLogTypes"] if t not in enabled]
    if missing:
        yield f"control-plane log types not enabled: {', '.join(missing)}"


@resource_rule(
    id="eks-supported-version",
    area="compute",
    types=(EKS_COMPONENT, EKS_CLUSTER),
    description="The cluster runs a Kubernetes version in EKS standard support (set explicitly, never a default).",
    severity=MEDIUM,
    remediation="Set version to one of the supported versions (pack config supportedVersions) and upgrade in order.",
    controls=("FSBP EKS.2", "CKV_AWS_339"),
    on_unknown="fail",
    params={
        "supportedVersions": Param(
            SUPPORTED_EKS_VERSIONS,
            {"type": "array", "items": {"type": "string"}},
            "Kubernetes minor versions in EKS standard support.",
        ),
    },
)
def eks_supported_version(_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    version = props.get("version")
    if not version:
        yield "version is not set: the cluster would get whatever EKS defaults to, and drift with it"
    elif str(version) not in config["supportedVersions"]:
        yield f"version {version} is not in standard support; allowed: {', '.join(config['supportedVersions'])}"


@resource_rule(
    id="eks-nodes-no-ssh",
    area="compute",
    types=(EKS_COMPONENT, EKS_NODE_GROUP, EKS_MANAGED_NODE_GROUP, EKS_NODE_GROUP_V2, LAUNCH_TEMPLATE),
    description="Worker nodes accept no SSH key: access is through SSM and Kubernetes, not port 22.",
    severity=HIGH,
    remediation="Remove remote_access / key_name / node_public_key; use SSM Session Manager for break-glass access.",
    controls=("CKV_AWS_100",),
    on_unknown="fail",
)
def eks_nodes_no_ssh(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if resource_type in (EKS_NODE_GROUP, EKS_MANAGED_NODE_GROUP) and props.get("remoteAccess"):
        yield "remoteAccess is set: nodes accept SSH"
    if resource_type in (EKS_COMPONENT, EKS_NODE_GROUP_V2) and (
        props.get("nodePublicKey") or dig(props, "nodeGroupOptions", "nodePublicKey") or
        dig(props, "nodeGroupOptions", "keyName") or props.get("keyName")
    ):  # fmt: skip
        yield "an SSH key is configured for the nodes"
    if resource_type == LAUNCH_TEMPLATE and props.get("keyName"):
        yield f"keyName {props.get('keyName')} puts an SSH key on every node"


@resource_rule(
    id="ec2-launch-template-imdsv2",
    area="compute",
    types=(LAUNCH_TEMPLATE, EKS_MANAGED_NODE_GROUP),
    description="Instances require IMDSv2 tokens with a hop limit of 1 or 2 (pods use IRSA, not the node role).",
    severity=HIGH,
    remediation="metadata_options: http_tokens='required', http_endpoint='enabled', http_put_response_hop_limit<=2.",
    controls=("FSBP EC2.8", "FSBP EC2.170", "CIS 5.6", "CKV_AWS_79", "CKV_AWS_341"),
    on_unknown="fail",
)
def launch_template_imdsv2(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if resource_type == EKS_MANAGED_NODE_GROUP:
        if not props.get("launchTemplate") and not truthy(props.get("enableImdSv2")):
            yield "enableImdSv2 is not true and no launch template is given: nodes answer IMDSv1"
        return
    options = mapping(props.get("metadataOptions"))
    if options.get("httpEndpoint") == "disabled":
        return
    if options.get("httpTokens") != "required":
        yield f"metadataOptions.httpTokens is {options.get('httpTokens', 'unset (optional)')!s}; must be 'required'"
    hops = options.get("httpPutResponseHopLimit")
    if hops is not None and int(hops) > 2:
        yield f"metadataOptions.httpPutResponseHopLimit is {hops}; at most 2"


@resource_rule(
    id="ec2-launch-template-ebs-encrypted",
    area="compute",
    types=(LAUNCH_TEMPLATE, EKS_COMPONENT),
    description="Node volumes are encrypted (every EBS block-device mapping of a launch template sets encrypted).",
    severity=HIGH,
    remediation="block_device_mappings=[{device_name: '/dev/xvda', ebs: {encrypted: 'true', kms_key_id: ...}}].",
    controls=("FSBP EC2.7", "CIS 2.2.1", "CKV_AWS_8", "CKV_AWS_3"),
    on_unknown="fail",
)
def launch_template_ebs_encrypted(
    resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterable[str]:
    if resource_type == EKS_COMPONENT:
        if not truthy(props.get("skipDefaultNodeGroup")) and not truthy(props.get("nodeRootVolumeEncrypted")):
            yield (
                "the default node group's root volumes are not encrypted "
                "(set skipDefaultNodeGroup or nodeRootVolumeEncrypted)"
            )
        return
    mappings = [m for m in items(props.get("blockDeviceMappings")) if isinstance(m, Mapping)]
    if not mappings:
        yield "no blockDeviceMappings: the root volume's encryption is left to the account default"
    for entry in mappings:
        ebs = mapping(entry.get("ebs"))
        if ebs and not truthy(ebs.get("encrypted")):
            yield f"EBS volume {entry.get('deviceName', '?')} is not encrypted"


@resource_rule(
    id="ecr-immutable-tags",
    area="compute",
    types=(ECR_REPOSITORY,),
    description="ECR repositories have immutable image tags (a deployed tag always means the same image).",
    severity=MEDIUM,
    remediation="Set image_tag_mutability='IMMUTABLE'.",
    controls=("FSBP ECR.2", "CKV_AWS_51"),
    on_unknown="fail",
)
def ecr_immutable_tags(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not str(props.get("imageTagMutability", "MUTABLE")).startswith("IMMUTABLE"):
        yield f"imageTagMutability is {props.get('imageTagMutability', 'MUTABLE (default)')}"


@resource_rule(
    id="ecr-scan-on-push",
    area="compute",
    types=(ECR_REPOSITORY,),
    description="ECR repositories scan every image on push.",
    severity=MEDIUM,
    remediation="Set image_scanning_configuration={'scan_on_push': True} (or enhanced scanning in the registry).",
    controls=("FSBP ECR.1", "CKV_AWS_163"),
    on_unknown="fail",
)
def ecr_scan_on_push(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if not truthy(dig(props, "imageScanningConfiguration", "scanOnPush")):
        yield "imageScanningConfiguration.scanOnPush is not true"


@resource_rule(
    id="ecr-kms-encryption",
    area="compute",
    types=(ECR_REPOSITORY,),
    description="ECR repositories encrypt images with a KMS key.",
    severity=MEDIUM,
    enforcement=ADVISORY,
    remediation="Set encryption_configurations=[{'encryption_type': 'KMS', 'kms_key': <storage key ARN>}].",
    controls=("CKV_AWS_136",),
    on_unknown="pass",
)
def ecr_kms_encryption(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    configs = [mapping(c) for c in items(props.get("encryptionConfigurations"))]
    if not any(c.get("encryptionType") == "KMS" for c in configs):
        yield "images are encrypted with AES256 only, not a KMS key"
