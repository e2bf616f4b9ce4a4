"""Cluster: the EKS control plane's inputs, access entries, node groups, core EKS add-ons and their ordering."""

from __future__ import annotations

import json

import pytest

from config import EKS_LOG_TYPES, StackConfigError
from tests.conftest import stack_config


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


CLUSTER = "ai-platform:cluster:Cluster"
EKS = "eks:index:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ADDON = "aws:eks/addon:Addon"

# A complete configuration: public endpoint for listed CIDRs, viewers, a second (spot, tainted, arm64) node group.
COMPLETE = {
    "ai-platform:cluster": {
        "endpoint_public_access": True,
        "public_access_cidrs": ["198.51.100.0/24", "203.0.113.7/32"],
        "viewer_roles": ["platform-readonly", "aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_0123abcd"],
        "imds_hop_limit": 2,
        "node_groups": {
            "batch": {
                "instance_types": ["m7g.large", "m6g.large"],
                "ami_type": "AL2023_ARM_64_STANDARD",
                "capacity_type": "SPOT",
                "min_size": 0,
                "desired_size": 1,
                "max_size": 10,
                "disk_size_gib": 100,
                "labels": {"workload": "batch"},
                "taints": [{"key": "batch", "value": "true", "effect": "NO_EXECUTE"}],
            }
        },
    }
}


def cluster_of(plan):
    [eks] = plan.by_type(EKS)
    return eks


def kms_key_arn(plan, purpose: str) -> str:
    [key] = [k for k in plan.by_type("aws:kms/key:Key") if k.name.endswith(f"-{purpose}-key")]
    return f"arn:aws:kms:us-east-1:123456789012:key/{key.name}-key-id"


# --- control plane ------------------------------------------------------------------------------------------------


def test_control_plane_encrypts_secrets_with_the_eks_key_and_logs_everything(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    eks = cluster_of(plan)
    assert eks.inputs["encryptionConfigKeyArn"] == kms_key_arn(plan, "eks")
    assert eks.inputs["enabledClusterLogTypes"] == list(EKS_LOG_TYPES)
    assert set(EKS_LOG_TYPES) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert eks.inputs["version"] == stack_config(any_stack).cluster.version == "1.34"
    assert eks.inputs["upgradePolicy"] == {"supportType": "STANDARD"}, "never drift onto paid extended support"
    assert eks.inputs["createOidcProvider"] is False, "the component declares the (tagged) OIDC provider itself"
    assert eks.inputs["name"] == f"ai-platform-{any_stack}"


def test_irsa_oidc_provider_trusts_the_clusters_issuer_for_sts_and_is_tagged(plan_of) -> None:
    plan = plan_of("prod")
    [provider] = plan.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider.inputs["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert cluster_of(plan).urn in provider.dependencies
    assert provider.inputs["tags"]["component"] == "cluster"
    assert plan.outputs["oidc_provider_arn"].endswith(provider.inputs["url"].removeprefix("https://"))


def test_eks_access_entries_carry_the_mandatory_tags(plan_of) -> None:
    for key, entry in cluster_of(plan_of("prod")).inputs["accessEntries"].items():
        assert entry["tags"]["environment"] == "prod", key
        assert entry["tags"]["owner"] == "platform-team", key


def test_control_plane_log_group_exists_first_encrypted_with_retention(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    eks = cluster_of(plan)
    [group] = [g for g in plan.by_type("aws:cloudwatch/logGroup:LogGroup") if g.name.endswith("control-plane-logs")]
    assert group.inputs["name"] == f"/aws/eks/{eks.inputs['name']}/cluster"
    assert group.inputs["retentionInDays"] == stack_config(any_stack).cluster.log_retention_days
    assert group.inputs["kmsKeyId"] == kms_key_arn(plan, "logs")
    assert group.urn in eks.dependencies, "EKS would create its own unencrypted group if it came first"
    assert {"dev": 30, "staging": 90, "prod": 365}[any_stack] == group.inputs["retentionInDays"]


def test_api_endpoint_is_private_in_every_shipped_stack(plan_of, any_stack) -> None:
    eks = cluster_of(plan_of(any_stack))
    assert eks.inputs["endpointPrivateAccess"] is True
    assert eks.inputs["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in eks.inputs


def test_public_endpoint_is_restricted_to_the_listed_cidrs(plan_of) -> None:
    eks = cluster_of(plan_of("dev", COMPLETE))
    assert eks.inputs["endpointPublicAccess"] is True
    assert eks.inputs["endpointPrivateAccess"] is True
    assert eks.inputs["publicAccessCidrs"] == ["198.51.100.0/24", "203.0.113.7/32"]


def test_deletion_protection_outside_dev(plan_of, any_stack) -> None:
    assert cluster_of(plan_of(any_stack)).inputs["deletionProtection"] is (any_stack != "dev")


def test_access_entries_grant_the_configured_roles_and_nothing_else(plan_of) -> None:
    eks = cluster_of(plan_of("prod"))
    assert eks.inputs["authenticationMode"] == "API", "access entries only, no aws-auth ConfigMap"
    entries = eks.inputs["accessEntries"]
    assert list(entries) == ["admin-platform-admin"]
    admin = entries["admin-platform-admin"]
    assert admin["principalArn"] == "arn:aws:iam::123456789012:role/platform-admin"
    assert admin["accessPolicies"] == {
        "AmazonEKSClusterAdminPolicy": {
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "accessScope": {"type": "cluster"},
        }
    }


def test_viewer_roles_get_read_only_access_and_role_paths_are_kept(plan_of) -> None:
    entries = cluster_of(plan_of("dev", COMPLETE)).inputs["accessEntries"]
    viewer = entries["viewer-awsreservedsso_readonly_0123abcd"]
    assert viewer["principalArn"] == (
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_0123abcd"
    )
    assert list(viewer["accessPolicies"]) == ["AmazonEKSViewPolicy"]
    assert set(entries) == {
        "admin-platform-admin",
        "viewer-platform-readonly",
        "viewer-awsreservedsso_readonly_0123abcd",
    }


def test_no_default_node_group_and_no_pulumi_eks_addons(plan_of, any_stack) -> None:
    eks = cluster_of(plan_of(any_stack))
    assert eks.inputs["skipDefaultNodeGroup"] is True
    assert eks.inputs["bootstrapSelfManagedAddons"] is False
    assert eks.inputs["useDefaultVpcCni"] is True, "pulumi-eks must not install its own CNI manifest"
    assert eks.inputs["corednsAddonOptions"]["enabled"] is False
    assert eks.inputs["kubeProxyAddonOptions"]["enabled"] is False
    assert eks.inputs["nodeAssociatePublicIpAddress"] is False
    assert "publicSubnetIds" not in eks.inputs, "the control plane's ENIs stay in the private subnets"


def test_control_plane_lives_in_the_private_subnets(plan_of) -> None:
    plan = plan_of("prod")
    eks = cluster_of(plan)
    private = [s for s in plan.by_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "private"]
    assert len(eks.inputs["privateSubnetIds"]) == 3
    assert set(eks.propertyDependencies["privateSubnetIds"]) == {s.urn for s in private}


def test_kubeconfig_is_exported_only_as_a_secret(plan_of) -> None:
    plan = plan_of("prod")
    assert plan.outputs["kubeconfig"] == "[secret]"
    [provider] = plan.by_type("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert provider.inputs["enableServerSideApply"] == "true" or provider.inputs["enableServerSideApply"] is True
    assert plan.outputs["cluster_endpoint"].startswith("https://")
    assert plan.outputs["cluster_name"] == "ai-platform-prod"


# --- managed node groups ------------------------------------------------------------------------------------------


def node_groups(plan) -> dict[str, object]:
    return {g.name.rsplit("-cluster-", 1)[1]: g for g in plan.by_type(NODE_GROUP)}


def launch_template_of(plan, group):
    [template_urn] = group.propertyDependencies["launchTemplate"]
    return plan.get(template_urn)


def test_node_groups_run_only_in_private_subnets(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    private = {s.urn for s in plan.by_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "private"}
    groups = node_groups(plan)
    assert set(groups) == set(stack_config(any_stack).cluster.node_groups) == {"system"}
    for group in groups.values():
        assert set(group.propertyDependencies["subnetIds"]) == private
        assert len(group.inputs["subnetIds"]) == stack_config(any_stack).network.az_count


def test_launch_templates_require_imdsv2_and_encrypt_gp3_root_volumes(plan_of) -> None:
    for stack, overrides in (("prod", None), ("dev", COMPLETE)):
        plan = plan_of(stack, overrides)
        hop_limit = stack_config(stack, overrides).cluster.imds_hop_limit
        for key, group in node_groups(plan).items():
            template = launch_template_of(plan, group)
            metadata = template.inputs["metadataOptions"]
            assert metadata["httpTokens"] == "required", key
            assert metadata["httpEndpoint"] == "enabled"
            assert metadata["httpPutResponseHopLimit"] == hop_limit
            [root] = template.inputs["blockDeviceMappings"]
            assert root["deviceName"] == "/dev/xvda"
            assert root["ebs"]["encrypted"] == "true"
            assert root["ebs"]["volumeType"] == "gp3"
            assert root["ebs"]["volumeSize"] == stack_config(stack, overrides).cluster.node_groups[key].disk_size_gib
            assert "keyName" not in template.inputs, "no SSH key: SSM Session Manager only"
            assert "networkInterfaces" not in template.inputs, "no public IP can be requested"
            assert template.inputs["vpcSecurityGroupIds"] == [f"sg-ai-platform-{stack}-node"]


def test_node_instances_volumes_and_enis_carry_the_stack_tags(plan_of) -> None:
    """EC2 launches node instances outside Pulumi: the launch template must hand them the cost/ownership tags."""
    plan = plan_of("prod")
    for key, group in node_groups(plan).items():
        specs = launch_template_of(plan, group).inputs["tagSpecifications"]
        assert {spec["resourceType"] for spec in specs} == {"instance", "volume", "network-interface"}
        for spec in specs:
            tags = spec["tags"]
            assert tags["owner"] == "platform-team", key
            assert (tags["environment"], tags["stack"], tags["component"]) == ("prod", "prod", "cluster")
            assert tags["cost-center"] == stack_config("prod").tags["cost-center"]


def test_node_groups_take_sizes_labels_and_taints_from_config(plan_of) -> None:
    groups = node_groups(plan_of("dev", COMPLETE))
    assert set(groups) == {"system", "batch"}
    batch = groups["batch"].inputs
    assert batch["scalingConfig"] == {"minSize": 0, "desiredSize": 1, "maxSize": 10}
    assert batch["capacityType"] == "SPOT"
    assert batch["amiType"] == "AL2023_ARM_64_STANDARD"
    assert batch["instanceTypes"] == ["m7g.large", "m6g.large"]
    assert batch["labels"] == {"workload": "batch", "node.kubernetes.io/node-group": "batch"}
    assert batch["taints"] == [{"key": "batch", "value": "true", "effect": "NO_EXECUTE"}]
    system = groups["system"].inputs
    assert system["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert system["labels"]["node.kubernetes.io/node-group"] == "system"


def test_node_group_sizes_per_environment(plan_of) -> None:
    assert node_groups(plan_of("dev"))["system"].inputs["scalingConfig"] == {
        "minSize": 2,
        "desiredSize": 2,
        "maxSize": 3,
    }
    prod = node_groups(plan_of("prod"))["system"].inputs
    assert prod["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": 6}
    assert prod["capacityType"] == "ON_DEMAND"


def test_autoscaled_desired_size_is_not_reset_by_later_updates(plan_of) -> None:
    for group in plan_of("prod").by_type(NODE_GROUP):
        assert group.ignoreChanges == ["scalingConfig.desiredSize"]
        assert group.inputs["version"] == "1.34", "node groups follow the control plane's version"


def test_node_role_has_only_node_policies(plan_of) -> None:
    plan = plan_of("prod")
    [group] = plan.by_type(NODE_GROUP)
    [role_urn] = group.propertyDependencies["nodeRoleArn"]
    role = plan.get(role_urn)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    attached = {
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.propertyDependencies.get("role") == [role_urn]
    }
    assert attached == {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonSSMManagedInstanceCore",
    }


# --- EKS managed add-ons ------------------------------------------------------------------------------------------


def addons(plan) -> dict[str, object]:
    return {a.inputs["addonName"]: a for a in plan.by_type(ADDON)}


def test_core_addons_are_pinned_from_config(plan_of, any_stack) -> None:
    versions = stack_config(any_stack).cluster.addon_versions
    found = addons(plan_of(any_stack))
    assert {name: a.inputs["addonVersion"] for name, a in found.items()} == {
        "vpc-cni": versions.vpc_cni,
        "kube-proxy": versions.kube_proxy,
        "coredns": versions.coredns,
        "aws-ebs-csi-driver": versions.ebs_csi_driver,
    }
    assert all(a.inputs["clusterName"] == f"ai-platform-{any_stack}" for a in found.values())


def test_vpc_cni_enforces_network_policies(plan_of) -> None:
    cni = addons(plan_of("prod"))["vpc-cni"]
    assert json.loads(cni.inputs["configurationValues"])["enableNetworkPolicy"] == "true"


@pytest.mark.parametrize(
    ("addon", "service_account", "managed_policy"),
    [
        ("vpc-cni", "aws-node", "AmazonEKS_CNI_Policy"),
        ("aws-ebs-csi-driver", "ebs-csi-controller-sa", "AmazonEBSCSIDriverPolicy"),
    ],
)
def test_cni_and_ebs_csi_have_their_own_irsa_roles(
    plan_of, addon: str, service_account: str, managed_policy: str
) -> None:
    plan = plan_of("prod")
    found = addons(plan)[addon]
    [role_urn] = found.propertyDependencies["serviceAccountRoleArn"]
    role = plan.get(role_urn)
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    conditions = statement["Condition"]["StringEquals"]
    assert (
        conditions[next(k for k in conditions if k.endswith(":sub"))]
        == f"system:serviceaccount:kube-system:{service_account}"
    )
    attachments = [
        a
        for a in plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.propertyDependencies.get("role") == [role_urn]
    ]
    assert [a.inputs["policyArn"].rsplit("/", 1)[1] for a in attachments] == [managed_policy]


def test_cni_and_kube_proxy_come_before_nodes_and_coredns_ebs_after(plan_of) -> None:
    plan = plan_of("prod")
    found = addons(plan)
    [group] = plan.by_type(NODE_GROUP)
    assert {found["vpc-cni"].urn, found["kube-proxy"].urn} <= set(group.dependencies)
    assert group.urn in found["coredns"].dependencies
    assert group.urn in found["aws-ebs-csi-driver"].dependencies


def test_node_groups_wait_for_every_policy_of_their_role(plan_of, any_stack) -> None:
    """Referencing the role's ARN orders a node group after the role only: without the attachments first, nodes
    start without AmazonEKSWorkerNodePolicy (and on delete, EKS loses the rights to clean its instances up)."""
    plan = plan_of(any_stack)
    for group in plan.by_type(NODE_GROUP):
        role_urn = next(
            urn for urn in group.propertyDependencies["nodeRoleArn"] if plan.get(urn).type == "aws:iam/role:Role"
        )
        attachments = [
            r.urn
            for r in plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if plan.get(role_urn).urn in r.propertyDependencies.get("role", [])
        ]
        assert len(attachments) == 3
        assert set(attachments) <= set(group.dependencies), group.name


# --- config validation --------------------------------------------------------------------------------------------


def problems(overrides: dict) -> str:
    with pytest.raises(StackConfigError) as error:
        stack_config("dev", {"ai-platform:cluster": overrides})
    return "\n".join(error.value.problems)


@pytest.mark.parametrize(
    ("overrides", "key", "message"),
    [
        (
            {"endpoint_public_access": True, "public_access_cidrs": ["0.0.0.0/0"]},
            "cluster.public_access_cidrs",
            "opens the Kubernetes API to the internet",
        ),
        ({"endpoint_public_access": True}, "cluster.public_access_cidrs", "no CIDRs are listed"),
        ({"public_access_cidrs": ["198.51.100.0/24"]}, "cluster.public_access_cidrs", "endpoint_public_access is off"),
        (
            {"endpoint_public_access": True, "public_access_cidrs": ["198.51.100.1/24"]},
            "cluster.public_access_cidrs.0",
            "is not an IPv4 network",
        ),
        ({"version": "1.29"}, "cluster.version", "allowed: 1.34, 1.35, 1.36, 1.37"),
        ({"version": "1.35"}, "cluster.addon_versions.kube_proxy", "is for Kubernetes 1.34"),
        ({"support_type": "FOREVER"}, "cluster.support_type", "not a valid choice"),
        (
            {"node_groups": {"system": {"min_size": 3, "desired_size": 2}}},
            "cluster.node_groups.system.desired_size",
            "min_size <= desired_size <= max_size",
        ),
        (
            {"node_groups": {"system": {"taints": [{"key": "a", "effect": "NoSchedule"}]}}},
            "cluster.node_groups.system.taints.0.effect",
            "not a valid choice",
        ),
        (
            {"node_groups": {"system": {"instance_types": ["m7g.large"]}}},
            "cluster.node_groups.system.instance_types",
            "do not run AL2023_x86_64_STANDARD",
        ),
        (
            {"node_groups": {"system": {"labels": {"kubernetes.io/role": "x"}}}},
            "cluster.node_groups.system.labels",
            "reserved prefix",
        ),
        ({"node_groups": {"GPU": {}}}, "cluster.node_groups", "is not a group key"),
        ({"admin_roles": []}, "cluster.admin_roles", "at least 1"),
        ({"admin_roles": ["arn:aws:iam::1:role/x"]}, "cluster.admin_roles.0", "is not an IAM role name"),
        ({"viewer_roles": ["platform-admin"]}, "cluster.viewer_roles", "also in admin_roles"),
        ({"addon_versions": {"coredns": "1.12"}}, "cluster.addon_versions.coredns", "not an EKS add-on version"),
        ({"imds_hop_limit": 3}, "cluster.imds_hop_limit", "out of range"),
        ({"log_retention_days": 10}, "cluster.log_retention_days", "not a CloudWatch Logs retention"),
    ],
)
def test_bad_cluster_config_is_one_clear_line(overrides: dict, key: str, message: str) -> None:
    text = problems(overrides)
    assert f"Pulumi.dev.yaml: ai-platform:{key}: " in text
    assert message in text
    assert "allowed" in text


def test_a_stack_without_a_system_group_is_rejected() -> None:
    from config import ClusterConfig

    with pytest.raises(ValueError, match="no `system` group"):
        ClusterConfig(node_groups={"workers": {}})


def test_the_world_may_reach_the_api_only_with_the_explicit_flag() -> None:
    config = stack_config(
        "dev",
        {
            "ai-platform:cluster": {
                "endpoint_public_access": True,
                "public_access_cidrs": ["0.0.0.0/0"],
                "allow_public_endpoint_from_anywhere": True,
            }
        },
    )
    assert config.cluster.public_access_cidrs == ("0.0.0.0/0",)


def test_control_plane_role_may_use_only_the_eks_key(plan_of) -> None:
    plan = plan_of("prod")
    eks = cluster_of(plan)
    role = plan.get(eks.inputs["serviceRole"])
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "eks.amazonaws.com"}
    [policy] = [
        p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy") if p.propertyDependencies["role"] == [role.urn]
    ]
    [use_key] = json.loads(policy.inputs["policy"])["Statement"]
    assert use_key["Resource"] == kms_key_arn(plan, "eks")
    assert sorted(use_key["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants"]
    assert policy.urn in eks.dependencies, "the role can use the key before the cluster encrypts with it"
