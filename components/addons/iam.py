"""The add-ons' IAM statements as each project documents them, scoped to this cluster, account and region where AWS
allows: the AWS Load Balancer Controller's and Karpenter's controller policies, external-secrets' read access to this
stack's secrets. Pure functions returning dicts (values may be Outputs of resources being created), no resources."""

from __future__ import annotations

from typing import Any

import pulumi

from lib.aws import AwsContext
from lib.iam import decrypt_through_service

# Describe/List calls of the load balancer controller: none supports resource-level permissions.
LBC_DESCRIBE_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeTags",
    "ec2:GetCoipPoolUsage",
    "ec2:DescribeCoipPools",
    "ec2:GetSecurityGroupsForVpc",
    "ec2:DescribeIpamPools",
    "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation",
)
# Certificates, WAF and Shield for the load balancers the controller manages (documented with `*` resources).
LBC_CERTIFICATE_WAF_SHIELD_ACTIONS: tuple[str, ...] = (
    "cognito-idp:DescribeUserPoolClient",
    "acm:ListCertificates",
    "acm:DescribeCertificate",
    "iam:ListServerCertificates",
    "iam:GetServerCertificate",
    "waf-regional:GetWebACL",
    "waf-regional:GetWebACLForResource",
    "waf-regional:AssociateWebACL",
    "waf-regional:DisassociateWebACL",
    "wafv2:GetWebACL",
    "wafv2:GetWebACLForResource",
    "wafv2:AssociateWebACL",
    "wafv2:DisassociateWebACL",
    "shield:GetSubscriptionState",
    "shield:DescribeProtection",
    "shield:CreateProtection",
    "shield:DeleteProtection",
)
# Load balancer and target group mutations the controller may make on the ones tagged as this cluster's.
LBC_MODIFY_ACTIONS: tuple[str, ...] = (
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:ModifyCapacityReservation",
    "elasticloadbalancing:ModifyIpPools",
)
# Region-wide reads Karpenter needs to pick instance types, images and subnets (Describe: no resource-level
# permissions, so pinned to this region by condition instead).
KARPENTER_READ_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeCapacityReservations",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
    "ec2:DescribeAvailabilityZones",
)
# What Karpenter creates when it launches a node (each tagged as this cluster's and its NodePool's).
KARPENTER_LAUNCHED_RESOURCES: tuple[str, ...] = (
    "fleet/*",
    "instance/*",
    "volume/*",
    "network-interface/*",
    "launch-template/*",
    "spot-instances-request/*",
)
EXTERNAL_SECRETS_READ_ACTIONS: tuple[str, ...] = (
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    "secretsmanager:ListSecretVersionIds",
    "secretsmanager:GetResourcePolicy",
)


# --- AWS Load Balancer Controller ---------------------------------------------------------------------------------


def load_balancer_controller_statements(
    aws_ctx: AwsContext, cluster_name: str, vpc_id: pulumi.Input[str], node_security_group_id: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """The AWS Load Balancer Controller's documented policy (docs/install/iam_policy.json, v2.13), with `*`
    resources narrowed to this account/region, security-group creation to this VPC, rules on existing groups to
    the node security group, and mutations of existing resources to those tagged `elbv2.k8s.aws/cluster=<this
    cluster>` instead of any cluster."""
    return [
        *_lbc_read_statements(aws_ctx),
        *_lbc_security_group_statements(aws_ctx, cluster_name, vpc_id, node_security_group_id),
        *_lbc_load_balancer_statements(aws_ctx, cluster_name),
    ]


def _lbc_read_statements(aws_ctx: AwsContext) -> list[dict[str, Any]]:
    """The ELB service-linked role, and the lookups (Describe, certificates, WAF, Shield) AWS scopes to `*`."""
    return [
        {
            "Sid": "CreateElbServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"arn:{aws_ctx.partition}:iam::{aws_ctx.account_id}:role/aws-service-role/"
            f"elasticloadbalancing.{aws_ctx.dns_suffix}/AWSServiceRoleForElasticLoadBalancing",
            "Condition": {"StringEquals": {"iam:AWSServiceName": f"elasticloadbalancing.{aws_ctx.dns_suffix}"}},
        },
        {
            "Sid": "Describe",
            "Effect": "Allow",
            "Action": list(LBC_DESCRIBE_ACTIONS),
            "Resource": "*",  # Describe/List calls support no resource-level permissions
        },
        {
            "Sid": "CertificatesWafShield",
            "Effect": "Allow",
            "Action": list(LBC_CERTIFICATE_WAF_SHIELD_ACTIONS),
            "Resource": "*",
        },
    ]


def _lbc_security_group_statements(
    aws_ctx: AwsContext, cluster_name: str, vpc_id: pulumi.Input[str], node_security_group_id: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """Rules on the node security group, and creation/tagging/deletion of the controller's own groups in this VPC."""
    security_groups = aws_ctx.arn("ec2", "security-group/*")
    ours = {"StringEquals": {"aws:ResourceTag/elbv2.k8s.aws/cluster": cluster_name}}
    return [
        {
            "Sid": "ManageNodeSecurityGroupRules",
            "Effect": "Allow",
            "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            "Resource": pulumi.Output.concat(aws_ctx.arn("ec2", "security-group/"), node_security_group_id),
        },
        {
            "Sid": "CreateSecurityGroupInThisVpc",
            "Effect": "Allow",
            "Action": "ec2:CreateSecurityGroup",
            "Resource": [security_groups, pulumi.Output.concat(aws_ctx.arn("ec2", "vpc/"), vpc_id)],
        },
        {
            "Sid": "TagNewSecurityGroups",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": security_groups,
            "Condition": {
                "StringEquals": {
                    "ec2:CreateAction": "CreateSecurityGroup",
                    "aws:RequestTag/elbv2.k8s.aws/cluster": cluster_name,
                },
            },
        },
        {
            "Sid": "RetagOwnSecurityGroups",
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": security_groups,
            "Condition": {"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "true"}, **ours},
        },
        {
            "Sid": "ManageOwnSecurityGroups",
            "Effect": "Allow",
            "Action": [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:DeleteSecurityGroup",
            ],
            "Resource": security_groups,
            "Condition": ours,
        },
    ]


def _lbc_load_balancer_statements(aws_ctx: AwsContext, cluster_name: str) -> list[dict[str, Any]]:
    """Load balancers and target groups created tagged as this cluster's and changed only when so tagged; their
    listeners, rules and targets."""
    elb = lambda resource: aws_ctx.arn("elasticloadbalancing", resource)  # noqa: E731
    load_balancers_and_target_groups = [
        elb("targetgroup/*/*"),
        elb("loadbalancer/net/*/*"),
        elb("loadbalancer/app/*/*"),
    ]
    ours = {"StringEquals": {"aws:ResourceTag/elbv2.k8s.aws/cluster": cluster_name}}
    listeners_and_rules = [elb("loadbalancer/*"), elb("listener/*"), elb("listener-rule/*")]
    return [
        {
            "Sid": "CreateTaggedLoadBalancers",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            "Resource": [elb("loadbalancer/*"), elb("targetgroup/*/*")],
            "Condition": {"StringEquals": {"aws:RequestTag/elbv2.k8s.aws/cluster": cluster_name}},
        },
        {
            "Sid": "ManageListenersAndRules",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
            ],
            "Resource": listeners_and_rules,
        },
        {
            "Sid": "RetagOwnLoadBalancers",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            "Resource": load_balancers_and_target_groups,
            "Condition": {"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "true"}, **ours},
        },
        {
            "Sid": "TagListenersAndRules",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            "Resource": [
                elb("listener/net/*/*/*"),
                elb("listener/app/*/*/*"),
                elb("listener-rule/net/*/*/*"),
                elb("listener-rule/app/*/*/*"),
            ],
        },
        {
            "Sid": "ModifyOwnLoadBalancers",
            "Effect": "Allow",
            "Action": list(LBC_MODIFY_ACTIONS),
            "Resource": load_balancers_and_target_groups,
            "Condition": ours,
        },
        {
            "Sid": "TagOnCreate",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:AddTags",
            "Resource": load_balancers_and_target_groups,
            "Condition": {
                "StringEquals": {
                    "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                    "aws:RequestTag/elbv2.k8s.aws/cluster": cluster_name,
                },
            },
        },
        {
            "Sid": "RegisterTargets",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            "Resource": elb("targetgroup/*/*"),
        },
        {
            "Sid": "ModifyListenersAndRules",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:SetWebAcl",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
            ],
            "Resource": listeners_and_rules,
        },
    ]


# --- Karpenter ----------------------------------------------------------------------------------------------------


def karpenter_controller_statements(
    aws_ctx: AwsContext,
    cluster_name: str,
    node_role_arn: pulumi.Input[str],
    queue_arn: pulumi.Input[str],
) -> list[dict[str, Any]]:
    """Karpenter v1's documented controller policy (getting-started CloudFormation), for this cluster only:
    instances, launch templates and instance profiles it may touch carry `kubernetes.io/cluster/<name>=owned`."""
    return [
        *_karpenter_launch_statements(aws_ctx, cluster_name),
        *_karpenter_lookup_statements(aws_ctx, queue_arn),
        *_karpenter_instance_profile_statements(aws_ctx, cluster_name, node_role_arn),
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": aws_ctx.arn("eks", f"cluster/{cluster_name}"),
        },
    ]


def _karpenter_node_pool_owned(cluster_name: str) -> dict[str, dict[str, str]]:
    """Condition: the existing resource is this cluster's and was launched for a NodePool."""
    return {
        "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"},
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
    }


def _karpenter_launch_statements(aws_ctx: AwsContext, cluster_name: str) -> list[dict[str, Any]]:
    """Launching, tagging and terminating instances and launch templates, each created or touched only when
    tagged as this cluster's and as belonging to a NodePool."""
    region, partition = aws_ctx.region, aws_ctx.partition
    ec2 = lambda resource: aws_ctx.arn("ec2", resource)  # noqa: E731
    owned = f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}"
    launched = [ec2(r) for r in KARPENTER_LAUNCHED_RESOURCES]
    return [
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": [
                f"arn:{partition}:ec2:{region}::image/*",
                f"arn:{partition}:ec2:{region}::snapshot/*",
                ec2("security-group/*"),
                ec2("subnet/*"),
                ec2("capacity-reservation/*"),
            ],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": ec2("launch-template/*"),
            "Condition": _karpenter_node_pool_owned(cluster_name),
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Resource": launched,
            "Condition": {
                "StringEquals": {owned: "owned", "aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": launched,
            "Condition": {
                "StringEquals": {
                    owned: "owned",
                    "aws:RequestTag/eks:eks-cluster-name": cluster_name,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": ec2("instance/*"),
            "Condition": {
                **_karpenter_node_pool_owned(cluster_name),
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Resource": [ec2("instance/*"), ec2("launch-template/*")],
            "Condition": _karpenter_node_pool_owned(cluster_name),
        },
    ]


def _karpenter_lookup_statements(aws_ctx: AwsContext, queue_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """What Karpenter reads: EC2 in this region, public SSM parameters (AMI ids), prices, its interruption queue."""
    region, partition = aws_ctx.region, aws_ctx.partition
    return [
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Action": list(KARPENTER_READ_ACTIONS),
            "Resource": "*",  # Describe calls support no resource-level permissions; pinned to this region
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
        },
        {
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Action": "pricing:GetProducts",
            "Resource": "*",  # the Price List API has no resources
        },
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            "Resource": queue_arn,
        },
    ]


def _karpenter_instance_profile_statements(
    aws_ctx: AwsContext, cluster_name: str, node_role_arn: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """Passing only the node role to EC2, and managing the instance profiles Karpenter creates for it in this
    cluster and region."""
    region = aws_ctx.region
    owned = f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}"
    resource_owned = f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}"
    instance_profiles = f"arn:{aws_ctx.partition}:iam::{aws_ctx.account_id}:instance-profile/*"
    return [
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": node_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": aws_ctx.service_principal("ec2")}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Action": ["iam:CreateInstanceProfile", "iam:TagInstanceProfile"],
            "Resource": instance_profiles,
            "Condition": {
                "StringEquals": {
                    owned: "owned",
                    "aws:RequestTag/eks:eks-cluster-name": cluster_name,
                    "aws:RequestTag/topology.kubernetes.io/region": region,
                },
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:TagInstanceProfile",
            ],
            "Resource": instance_profiles,
            "Condition": {
                "StringEquals": {resource_owned: "owned", "aws:ResourceTag/topology.kubernetes.io/region": region},
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Action": ["iam:GetInstanceProfile", "iam:ListInstanceProfiles"],
            "Resource": instance_profiles,
        },
    ]


# --- external-secrets ---------------------------------------------------------------------------------------------


def external_secrets_statements(aws_ctx: AwsContext, secrets_path_prefix: str) -> list[dict[str, Any]]:
    """Read-only access to the secrets under this stack's prefix, and decryption only on their behalf."""
    secrets = aws_ctx.arn("secretsmanager", f"secret:{secrets_path_prefix}*")
    return [
        {
            "Sid": "ReadThisStacksSecrets",
            "Effect": "Allow",
            "Action": list(EXTERNAL_SECRETS_READ_ACTIONS),
            "Resource": secrets,
        },
        decrypt_through_service(
            aws_ctx,
            "secretsmanager",
            aws_ctx.arn("kms", "key/*"),
            sid="DecryptThroughSecretsManagerForThoseSecrets",
            encryption_context={"SecretARN": secrets},
        ),
    ]
