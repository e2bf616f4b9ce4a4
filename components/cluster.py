"""Cluster: the platform's EKS control plane, its managed node groups and the core EKS add-ons.

The control plane comes from `pulumi_eks.Cluster`: private subnets only, API authentication through EKS access
entries (admins named in config, no aws-auth ConfigMap), a private API endpoint (public only when a stack lists
the CIDRs allowed to reach it), Kubernetes secrets envelope-encrypted with the platform's EKS KMS key, every
control-plane log type shipped to a pre-created, KMS-encrypted log group with a retention, an IAM OIDC provider for
IRSA, and an explicit upgrade policy so a stack never drifts onto paid extended support unnoticed.

Deployers (`pulumi up` itself installs charts and the workload through the API) reach the endpoint one of two ways
(README "First deployment"): the cluster security group admits 443 from `deployer_cidrs` (VPN, Transit Gateway,
peered networks) and `deployer_security_group_ids` (a runner in the VPC), and the Kubernetes provider waits for
those rules; or, for the first deployment only, `bootstrap_public_access_cidrs` opens the public endpoint to the
deployer's own address and tags the cluster `ai-platform/public-endpoint=bootstrap`, so the opening is visible in
AWS and to the policy pack until the next `pulumi up` closes it.

The default node group and the add-ons pulumi-eks would install are switched off: nodes are EKS managed node
groups declared here from config (visible to the policy pack, one launch template each with IMDSv2 only and an
encrypted gp3 root volume), and vpc-cni, kube-proxy, coredns and the EBS CSI driver are EKS managed add-ons pinned
to versions from config. vpc-cni and kube-proxy are installed before any node exists (nodes need a CNI to become
Ready); coredns and the EBS CSI driver after the node groups (they need nodes to schedule on). vpc-cni and the EBS
CSI driver run with their own IRSA roles, so the node role carries neither ENI nor volume permissions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from components.base import PlatformComponent
from components.identity import WorkloadRole, node_role, workload_role
from config import EKS_LOG_TYPES, ClusterConfig, NodeGroupConfig
from lib.aws import AwsContext
from lib.iam import service_trust_policy

# EKS access policies granted to the roles named in config.
ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"
VIEWER_ACCESS_POLICY = "AmazonEKSViewPolicy"
# Root device of the EKS-optimised Amazon Linux 2023 AMIs.
AL2023_ROOT_DEVICE = "/dev/xvda"
# The Kubernetes API port on the control plane's ENIs.
API_PORT = 443
# Tag on an EKS cluster whose public endpoint is the first deployment's bootstrap opening (value "bootstrap").
PUBLIC_ENDPOINT_TAG = "ai-platform/public-endpoint"


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of `Cluster`.

    config: the `ai-platform:cluster` section.
    cluster_name: the EKS cluster's name (unique in the account and region, e.g. `ai-platform-prod`).
    vpc_id: the platform VPC.
    private_subnet_ids: the private (workload) subnets; control-plane ENIs and every node live only there.
    secrets_kms_key_arn: the platform's `eks` key, envelope-encrypting Kubernetes secrets.
    logs_kms_key_arn: the platform's `logs` key, encrypting the control-plane log group.
    aws: account, partition and region, for ARNs of roles and AWS managed policies.
    node_tags: tags the node groups' instances, volumes and ENIs carry (EC2 launches them, outside Pulumi's
        tagging, so cost allocation and ownership would otherwise be missing). Default: none.
    """

    config: ClusterConfig
    cluster_name: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    secrets_kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    aws: AwsContext
    node_tags: Mapping[str, str] = field(default_factory=dict)


def role_arn(aws_ctx: AwsContext, role_name: str) -> str:
    """The ARN of a role of this account from its name, path included (`aws-reserved/sso.amazonaws.com/X`)."""
    return f"arn:{aws_ctx.partition}:iam::{aws_ctx.account_id}:role/{role_name}"


def access_entries(config: ClusterConfig, aws_ctx: AwsContext) -> dict[str, eks.AccessEntryArgs]:
    """EKS access entries for the admin and viewer roles of config, keyed by role name (stable across runs)."""

    def entry(role_name: str, policy: str) -> eks.AccessEntryArgs:
        return eks.AccessEntryArgs(
            principal_arn=role_arn(aws_ctx, role_name),
            type=eks.AccessEntryType.STANDARD,
            access_policies={
                policy: eks.AccessPolicyAssociationArgs(
                    policy_arn=f"arn:{aws_ctx.partition}:eks::aws:cluster-access-policy/{policy}",
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                )
            },
        )

    entries = {f"admin-{_key(r)}": entry(r, ADMIN_ACCESS_POLICY) for r in config.admin_roles}
    entries.update({f"viewer-{_key(r)}": entry(r, VIEWER_ACCESS_POLICY) for r in config.viewer_roles})
    return entries


def _key(role_name: str) -> str:
    return role_name.rsplit("/", 1)[-1].lower()


def _slug(cidr: str) -> str:
    """A CIDR as a resource-name part: 10.200.0.0/22 -> 10-200-0-0-22."""
    return cidr.replace(".", "-").replace("/", "-")


def public_endpoint(config: ClusterConfig) -> tuple[bool, list[str], dict[str, str]]:
    """(public endpoint on, its CIDRs, extra cluster tags): the permanent opening of `endpoint_public_access`, the
    first deployment's `bootstrap_public_access_cidrs` (tagged as such), or none (config allows one at most)."""
    if config.bootstrap_public_access_cidrs:
        return True, list(config.bootstrap_public_access_cidrs), {PUBLIC_ENDPOINT_TAG: "bootstrap"}
    return config.endpoint_public_access, list(config.public_access_cidrs), {}


class Cluster(PlatformComponent):
    """An EKS cluster with managed node groups, core EKS add-ons and an OIDC provider for IRSA."""

    area = "cluster"

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config, aws_ctx = args.config, args.aws
        self.kubernetes_version: str = config.version

        # EKS writes control-plane logs to this exact group; owning it first gives it encryption and a retention
        # (EKS would otherwise create it unencrypted and never expiring).
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=config.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            opts=self.child_opts(),
        )

        service_role, service_role_policies = self._service_role(name, args)
        public_access, public_cidrs, endpoint_tags = public_endpoint(config)
        self.eks = eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            service_role=service_role,
            version=config.version,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=config.support_type),
            vpc_id=args.vpc_id,
            private_subnet_ids=list(args.private_subnet_ids),
            node_associate_public_ip_address=False,
            endpoint_private_access=True,
            endpoint_public_access=public_access,
            public_access_cidrs=public_cidrs or None,
            cluster_tags=endpoint_tags or None,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries=access_entries(config, aws_ctx),
            encryption_config_key_arn=args.secrets_kms_key_arn,
            enabled_cluster_log_types=list(EKS_LOG_TYPES),
            # The IRSA OIDC provider is declared below: pulumi-eks would create it without tags.
            create_oidc_provider=False,
            deletion_protection=config.deletion_protection,
            skip_default_node_group=True,
            # Core add-ons are EKS managed add-ons declared below (pinned, with IRSA), not pulumi-eks defaults.
            bootstrap_self_managed_addons=False,
            use_default_vpc_cni=True,
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(enabled=False),
            opts=self.child_opts(depends_on=[self.log_group, *service_role_policies]),
        )

        # Known once the cluster exists, so everything using them waits for it.
        self.cluster_name: pulumi.Output[str] = pulumi.Output.all(self.eks.cluster_security_group_id).apply(
            lambda _: args.cluster_name
        )
        # The API server URL, read from the kubeconfig (the flat output every pulumi-eks version has); the URL
        # itself is not sensitive, so it is not kept secret.
        self.endpoint: pulumi.Output[str] = pulumi.Output.unsecret(
            self.eks.kubeconfig.apply(lambda kubeconfig: kubeconfig["clusters"][0]["cluster"]["server"])
        )
        # IRSA: the IAM OIDC provider trusting the cluster's issuer for STS (tagged like everything else).
        self.oidc_issuer: pulumi.Output[str] = self.eks.oidc_provider_url
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc-provider",
            url=self.oidc_issuer,
            client_id_lists=["sts.amazonaws.com"],
            opts=self.child_opts(),
        )
        self.oidc_provider_arn: pulumi.Output[str] = self.oidc_provider.arn
        self.cluster_security_group_id: pulumi.Output[str] = self.eks.cluster_security_group_id
        self.node_security_group_id: pulumi.Output[str] = self.eks.node_security_group_id
        deployer_rules = self._deployer_access(name, args)
        # The Kubernetes provider is built from this kubeconfig: waiting for the deployer rules keeps `pulumi up` from
        # talking to the API before its own runner may reach it.
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(self.eks.kubeconfig_json, *(rule.id for rule in deployer_rules)).apply(
                lambda values: values[0]
            )
        )

        before_nodes = self._addons_before_nodes(name, args)
        self.node_role, node_policies = node_role(
            f"{name}-node", aws_ctx=aws_ctx, parent=self, description=f"EKS managed nodes of {args.cluster_name}"
        )
        self.node_groups: dict[str, aws.eks.NodeGroup] = {
            key: self._node_group(name, key, group, args, depends_on=[*before_nodes, *node_policies])
            for key, group in config.node_groups.items()
        }
        self._addons_after_nodes(name, args, depends_on=list(self.node_groups.values()))

        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "kubernetes_version": self.kubernetes_version,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_issuer": self.oidc_issuer,
                "cluster_security_group_id": self.cluster_security_group_id,
                "node_security_group_id": self.node_security_group_id,
                "node_role_arn": self.node_role.arn,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _service_role(self, name: str, args: ClusterArgs) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """The control plane's role: the AWS managed cluster policy, plus use (not management) of the EKS key for
        secrets envelope encryption."""
        role = aws.iam.Role(
            f"{name}-service-role",
            description=f"EKS control plane of {args.cluster_name}",
            assume_role_policy=service_trust_policy(args.aws, "eks"),
            opts=self.child_opts(),
        )
        managed = aws.iam.RolePolicyAttachment(
            f"{name}-service-AmazonEKSClusterPolicy",
            role=role.name,
            policy_arn=args.aws.managed_policy_arn("AmazonEKSClusterPolicy"),
            opts=self.child_opts(),
        )
        encryption = aws.iam.RolePolicy(
            f"{name}-service-secrets-encryption",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "EnvelopeEncryptKubernetesSecrets",
                            "Effect": "Allow",
                            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                            "Resource": args.secrets_kms_key_arn,
                        }
                    ],
                }
            ),
            opts=self.child_opts(),
        )
        return role, [managed, encryption]

    def _deployer_access(self, name: str, args: ClusterArgs) -> list[aws.ec2.SecurityGroupRule]:
        """Ingress on 443 to the cluster security group (on the control plane's ENIs, next to the node rule) from
        each deployer network and security group of config, one rule each, named after it (stable keys).

        `aws.ec2.SecurityGroupRule`, like the rules pulumi-eks itself puts on this group: the provider warns against
        mixing it with `aws.vpc.SecurityGroupIngressRule` on one group."""
        config = args.config

        def rule(key: str, source: str, **source_args: Any) -> aws.ec2.SecurityGroupRule:
            # EC2 allows only a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$* in a rule's description.
            return aws.ec2.SecurityGroupRule(
                f"{name}-deployer-{key}",
                type="ingress",
                protocol="tcp",
                from_port=API_PORT,
                to_port=API_PORT,
                security_group_id=self.cluster_security_group_id,
                description=f"Kubernetes API from deployer {source}",
                **source_args,
                opts=self.child_opts(),
            )

        rules = [
            rule(_slug(cidr), f"network {cidr} (cluster.deployer_cidrs)", cidr_blocks=[cidr])
            for cidr in config.deployer_cidrs
        ]
        rules += [
            rule(group, f"security group {group} (cluster.deployer_security_group_ids)", source_security_group_id=group)
            for group in config.deployer_security_group_ids
        ]
        return rules

    # --- EKS managed add-ons --------------------------------------------------------------------------------------

    def _addon(
        self,
        name: str,
        addon: str,
        version: str,
        *,
        configuration: dict[str, object] | None = None,
        role: WorkloadRole | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=self.cluster_name,
            addon_name=addon,
            addon_version=version,
            configuration_values=json.dumps(configuration) if configuration else None,
            service_account_role_arn=role.arn if role is not None else None,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            # An add-on with its own role starts once the role's policies are attached.
            opts=self.child_opts(depends_on=[*depends_on, *(role.ready if role is not None else ())]),
        )

    def _addons_before_nodes(self, name: str, args: ClusterArgs) -> list[pulumi.Resource]:
        """vpc-cni (own IRSA role, network policy enforcement on) and kube-proxy: nodes need both to be Ready."""
        versions = args.config.addon_versions
        cni_role = workload_role(
            f"{name}-vpc-cni",
            namespace="kube-system",
            service_account="aws-node",
            oidc_provider_arn=self.oidc_provider_arn,
            oidc_issuer=self.oidc_issuer,
            statements=[],
            managed_policy_arns=[args.aws.managed_policy_arn("AmazonEKS_CNI_Policy")],
            parent=self,
            description=f"VPC CNI of {args.cluster_name}: manages pod ENIs and IPs",
        )
        vpc_cni = self._addon(
            name,
            "vpc-cni",
            versions.vpc_cni,
            role=cni_role,
            configuration={"enableNetworkPolicy": "true"},
        )
        kube_proxy = self._addon(name, "kube-proxy", versions.kube_proxy)
        return [vpc_cni, kube_proxy]

    def _addons_after_nodes(self, name: str, args: ClusterArgs, depends_on: Sequence[pulumi.Resource]) -> None:
        """coredns and the EBS CSI driver (own IRSA role with the AWS managed driver policy)."""
        versions = args.config.addon_versions
        self.coredns = self._addon(name, "coredns", versions.coredns, depends_on=depends_on)
        self.ebs_csi_role = workload_role(
            f"{name}-ebs-csi",
            namespace="kube-system",
            service_account="ebs-csi-controller-sa",
            oidc_provider_arn=self.oidc_provider_arn,
            oidc_issuer=self.oidc_issuer,
            statements=[],
            managed_policy_arns=[args.aws.managed_policy_arn("service-role/AmazonEBSCSIDriverPolicy")],
            parent=self,
            description=f"EBS CSI driver of {args.cluster_name}: creates, attaches and snapshots volumes",
        )
        self.ebs_csi = self._addon(
            name, "aws-ebs-csi-driver", versions.ebs_csi_driver, role=self.ebs_csi_role, depends_on=depends_on
        )

    # --- managed node groups --------------------------------------------------------------------------------------

    def _node_group(
        self, name: str, key: str, group: NodeGroupConfig, args: ClusterArgs, depends_on: Sequence[pulumi.Resource]
    ) -> aws.eks.NodeGroup:
        """A launch template (IMDSv2 only, encrypted gp3 root, the node security group, no SSH key) and the
        managed node group using it, in the private subnets."""
        template = aws.ec2.LaunchTemplate(
            f"{name}-{key}-lt",
            name_prefix=f"{args.cluster_name}-{key}-",
            description=f"EKS managed node group {key} of {args.cluster_name}",
            update_default_version=True,
            # pulumi-eks' node security group: node-to-node traffic and the control plane's rules to and from nodes.
            vpc_security_group_ids=[self.node_security_group_id],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=args.config.imds_hop_limit,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=AL2023_ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_type="gp3",
                        volume_size=group.disk_size_gib,
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags={**args.node_tags, "Name": f"{args.cluster_name}-{key}"}
                )
                for kind in ("instance", "volume", "network-interface")
            ],
            opts=self.child_opts(),
        )
        return aws.eks.NodeGroup(
            f"{name}-{key}",
            cluster_name=self.cluster_name,
            node_group_name_prefix=f"{key}-",
            node_role_arn=self.node_role.arn,
            subnet_ids=list(args.private_subnet_ids),
            version=args.config.version,
            ami_type=group.ami_type,
            capacity_type=group.capacity_type,
            instance_types=list(group.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=group.min_size, desired_size=group.desired_size, max_size=group.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=group.max_unavailable_percent),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels={**group.labels, "node.kubernetes.io/node-group": key},
            taints=[
                aws.eks.NodeGroupTaintArgs(key=taint.key, value=taint.value or None, effect=taint.effect)
                for taint in group.taints
            ],
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            # The desired size is a starting point: autoscaling owns it afterwards, `pulumi up` must not reset it.
            opts=self.child_opts(depends_on=list(depends_on), ignore_changes=["scalingConfig.desiredSize"]),
        )
