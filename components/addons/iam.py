"""The add-ons' IAM statements as each project documents them, scoped to this cluster, account and region where AWS
allows: the AWS Load Balancer Controller's and Karpenter's controller policies, external-secrets' read access to this
stack's secrets. Pure functions returning dicts (values may be Outputs of resources being created), no resources."""

from __future__ import annotations

from typing import Any

import pulumi

from lib.aws import AwsContext
from lib.iam import decrypt_through_service

# Where these documents differ from the official ones (the AWS Load Balancer Controller v2.13 `iam_policy.json`,
# Karpenter v1.8 `cloudformation.yaml`, external-secrets' Secrets Manager example): by Sid, each deliberate narrowing
# and why. Everything not listed is the official statement, with `*` ARN parts filled in with this partition,
# region and account. Checked against AWS's action catalogue by the `iam-catalog-valid` rule.
LBC_NARROWING: dict[str, str] = {
    "CreateElbServiceLinkedRole": "only the ELB service-linked role of this account, not any role",
    "Describe": "aws:RequestedRegion = this region (the calls support no resource-level permissions)",
    "ListServerCertificates": "its own statement: IAM is global, so it stays out of the region-pinned Describe",
    "ReadThisVpc": "GetSecurityGroupsForVpc on this VPC only, GetCoipPoolUsage on this account's pools",
    "ReadCertificatesAndUserPools": "certificates, server certificates and Cognito user pools of this account/region",
    "ManageNodeSecurityGroupRules": "ingress rules only on the node security group (official: any group)",
    "CreateSecurityGroupInThisVpc": "security groups only in this VPC",
    "RetagOwnSecurityGroups": "groups tagged as this cluster's (official: any cluster's)",
    "ManageOwnSecurityGroups": "groups tagged as this cluster's (official: any cluster's)",
    "CreateTaggedLoadBalancers": "tag value must be this cluster (official: any value)",
    "ManageListenersAndRules": "listeners and rules of this account/region, not `*`",
    "RetagOwnLoadBalancers": "load balancers and target groups tagged as this cluster's (official: any cluster's)",
    "ModifyOwnLoadBalancers": "load balancers and target groups tagged as this cluster's (official: any cluster's)",
    "ModifyOwnListenerAttributes": "listeners tagged as this cluster's (official: any cluster's, on `*`)",
    "TagOnCreate": "tag value must be this cluster (official: any value)",
    "ModifyListenersAndRules": "listeners and rules of this account/region, not `*`",
}
KARPENTER_NARROWING: dict[str, str] = {
    "AllowScopedEC2InstanceAccessActions": "security groups, subnets, reservations of this account (official: any)",
    "AllowScopedEC2InstanceActionsWithTags": (
        "no spot-instances-request/*: AWS's catalogue lists no such resource for RunInstances, CreateFleet or "
        "CreateLaunchTemplate (the official grant there is dead; tagging spot requests stays in "
        "AllowScopedResourceCreationTagging)"
    ),
    "AllowPassingInstanceRole": "iam:PassedToService is this partition's EC2 principal only",
}
EXTERNAL_SECRETS_ADDITIONS: dict[str, str] = {
    "DecryptThroughSecretsManagerForThoseSecrets": (
        "the stack's secrets use a customer-managed key: kms:Decrypt through Secrets Manager for those secrets only"
    ),
}

# Describe/List calls of the load balancer controller: none supports resource-level permissions.
LBC_DESCRIBE_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections", "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups", "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags",
    "ec2:DescribeCoipPools", "ec2:DescribeIpamPools", "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation", "acm:ListCertificates",
)  # fmt: skip
# WAF and Shield on the load balancers the controller manages, as documented: on `*`. elasticloadbalancing:SetWebAcl
# and shield:GetSubscriptionState / CreateProtection support no resource-level permissions at all; the others are
# left on `*` too because the web ACL comes from an Ingress annotation (any ACL the operator names) and Shield is a
# global service (no region to pin): a narrower grant would silently leave the public entry without its WAF.
LBC_WAF_SHIELD_ACTIONS: tuple[str, ...] = (
    "elasticloadbalancing:SetWebAcl", "waf-regional:GetWebACL", "waf-regional:GetWebACLForResource",
    "waf-regional:AssociateWebACL", "waf-regional:DisassociateWebACL", "wafv2:GetWebACL",
    "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
    "shield:GetSubscriptionState", "shield:DescribeProtection", "shield:CreateProtection",
    "shield:DeleteProtection",
)  # fmt: skip
# Load balancer and target group mutations the controller may make on the ones tagged as this cluster's.
LBC_MODIFY_ACTIONS: tuple[str, ...] = (
    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyCapacityReservation", "elasticloadbalancing:ModifyIpPools",
)  # fmt: skip
# Region-wide reads Karpenter needs to pick instance types, images and subnets (Describe: no resource-level
# permissions, so pinned to this region by condition instead).
KARPENTER_READ_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
    "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
)  # fmt: skip
# What Karpenter's launch calls create, each tagged as this cluster's and its NodePool's (see KARPENTER_NARROWING).
KARPENTER_LAUNCHED_RESOURCES: tuple[str, ...] = (
    "fleet/*", "instance/*", "volume/*", "network-interface/*", "launch-template/*", "capacity-reservation/*",
)  # fmt: skip
# What it may tag while creating it (spot requests come with RunInstances/CreateFleet; reservations are not tagged).
KARPENTER_CREATION_TAGGED: tuple[str, ...] = (
    "fleet/*", "instance/*", "volume/*", "network-interface/*", "launch-template/*", "spot-instances-request/*",
)  # fmt: skip
EXTERNAL_SECRETS_READ_ACTIONS: tuple[str, ...] = (
    "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds",
    "secretsmanager:GetResourcePolicy",
)  # fmt: skip


def _allow(sid: str, action: str | list[str], resource: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    """One Allow statement (with its condition when given)."""
    statement = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}
    return statement | ({"Condition": condition} if condition else {})


# --- AWS Load Balancer Controller ---------------------------------------------------------------------------------


def load_balancer_controller_statements(
    aws_ctx: AwsContext, cluster_name: str, vpc_id: pulumi.Input[str], node_security_group_id: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """The AWS Load Balancer Controller's documented policy (docs/install/iam_policy.json, v2.13), narrowed as
    LBC_NARROWING says: this account/region/VPC, rules only on the node security group, and mutations of existing
    resources only on those tagged `elbv2.k8s.aws/cluster=<this cluster>` instead of any cluster."""
    return [
        *_lbc_read_statements(aws_ctx, vpc_id),
        *_lbc_security_group_statements(aws_ctx, cluster_name, vpc_id, node_security_group_id),
        *_lbc_load_balancer_statements(aws_ctx, cluster_name),
    ]


def _lbc_read_statements(aws_ctx: AwsContext, vpc_id: pulumi.Input[str]) -> list[dict[str, Any]]:
    """The ELB service-linked role; lookups (Describe, certificates, user pools); WAF and Shield."""
    return [
        {
            "Sid": "CreateElbServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"arn:{aws_ctx.partition}:iam::{aws_ctx.account_id}:role/aws-service-role/"
            f"elasticloadbalancing.{aws_ctx.dns_suffix}/AWSServiceRoleForElasticLoadBalancing",
            "Condition": {"StringEquals": {"iam:AWSServiceName": f"elasticloadbalancing.{aws_ctx.dns_suffix}"}},
        },
        # Describe/List calls support no resource-level permissions
        _allow("Describe", list(LBC_DESCRIBE_ACTIONS), "*", {"StringEquals": {"aws:RequestedRegion": aws_ctx.region}}),
        {
            "Sid": "ReadThisVpc",
            "Effect": "Allow",
            "Action": ["ec2:GetSecurityGroupsForVpc", "ec2:GetCoipPoolUsage"],
            "Resource": [pulumi.Output.concat(aws_ctx.arn("ec2", "vpc/"), vpc_id), aws_ctx.arn("ec2", "coip-pool/*")],
        },
        {
            "Sid": "ReadCertificatesAndUserPools",
            "Effect": "Allow",
            "Action": ["cognito-idp:DescribeUserPoolClient", "acm:DescribeCertificate", "iam:GetServerCertificate"],
            "Resource": [
                aws_ctx.arn("cognito-idp", "userpool/*"),
                aws_ctx.arn("acm", "certificate/*"),
                aws_ctx.arn("iam", "server-certificate/*", region=False),
            ],
        },
        _allow("WafShield", list(LBC_WAF_SHIELD_ACTIONS), "*"),
        # IAM is global: no region to pin (aws:RequestedRegion is IAM's, not this one)
        _allow("ListServerCertificates", "iam:ListServerCertificates", "*"),
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
    listeners = [elb("listener/net/*/*/*"), elb("listener/app/*/*/*")]
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
            "Resource": [elb("loadbalancer/*"), elb("listener/*"), elb("listener-rule/*")],
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
            "Resource": [*listeners, elb("listener-rule/net/*/*/*"), elb("listener-rule/app/*/*/*")],
        },
        _allow("ModifyOwnLoadBalancers", list(LBC_MODIFY_ACTIONS), load_balancers_and_target_groups, ours),
        # the official policy has it among the load balancer mutations, but it acts on listeners only
        _allow("ModifyOwnListenerAttributes", "elasticloadbalancing:ModifyListenerAttributes", listeners, ours),
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
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
            ],
            "Resource": [elb("listener/*"), elb("listener-rule/*")],
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
        _allow("AllowAPIServerEndpointDiscovery", "eks:DescribeCluster", aws_ctx.arn("eks", f"cluster/{cluster_name}")),
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
            "Resource": [ec2(r) for r in KARPENTER_CREATION_TAGGED],
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
        _allow("AllowSSMReadActions", "ssm:GetParameter", f"arn:{partition}:ssm:{region}::parameter/aws/service/*"),
        # the Price List API has no resources
        _allow("AllowPricingReadActions", "pricing:GetProducts", "*"),
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
    """Passing only the node role to EC2, and managing only the instance profiles Karpenter created for this cluster
    and region: it may create a profile only with this cluster's tags, and tag only a profile that already carries
    them (with the same tags), so it can never claim an existing profile of the account as its own."""
    region = aws_ctx.region
    request = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
        "aws:RequestTag/topology.kubernetes.io/region": region,
    }
    resource = {
        f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned",
        "aws:ResourceTag/topology.kubernetes.io/region": region,
    }
    node_class = "karpenter.k8s.aws/ec2nodeclass"
    instance_profiles = aws_ctx.arn("iam", "instance-profile/*", region=False)
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
            "Action": "iam:CreateInstanceProfile",
            "Resource": instance_profiles,
            "Condition": {"StringEquals": request, "StringLike": {f"aws:RequestTag/{node_class}": "*"}},
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Action": "iam:TagInstanceProfile",
            "Resource": instance_profiles,
            "Condition": {
                "StringEquals": {**resource, **request},
                "StringLike": {f"aws:ResourceTag/{node_class}": "*", f"aws:RequestTag/{node_class}": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Resource": instance_profiles,
            "Condition": {"StringEquals": resource, "StringLike": {f"aws:ResourceTag/{node_class}": "*"}},
        },
        _allow("AllowInstanceProfileReadActions", "iam:GetInstanceProfile", instance_profiles),
        # no resource-level permissions
        _allow("AllowUnscopedInstanceProfileListAction", "iam:ListInstanceProfiles", "*"),
    ]


# --- external-secrets ---------------------------------------------------------------------------------------------


def external_secrets_statements(aws_ctx: AwsContext, secrets_path_prefix: str) -> list[dict[str, Any]]:
    """Read-only access to the secrets under this stack's prefix, and decryption only on their behalf."""
    secrets = aws_ctx.arn("secretsmanager", f"secret:{secrets_path_prefix}*")
    return [
        _allow("ReadThisStacksSecrets", list(EXTERNAL_SECRETS_READ_ACTIONS), secrets),
        decrypt_through_service(
            aws_ctx,
            "secretsmanager",
            aws_ctx.arn("kms", "key/*"),
            sid="DecryptThroughSecretsManagerForThoseSecrets",
            encryption_context={"SecretARN": secrets},
        ),
    ]
