"""Add-ons: the controllers every production cluster runs, each from its official Helm chart at a pinned version.

- AWS Load Balancer Controller: ALBs/NLBs for Ingresses and Services, with AWS's documented IAM policy, scoped to
  this account and region, to this VPC and to load balancers tagged as this cluster's.
- Karpenter: node autoscaling for workloads (controller role, node role with its EKS access entry, the SQS
  interruption queue and its EventBridge rules, a default `EC2NodeClass` and `NodePool` with limits, consolidation
  and a disruption budget). The `system` managed node group only runs add-ons.
- metrics-server (resource metrics for HPA and `kubectl top`), and the Vertical Pod Autoscaler's recommender
  only: without updater and admission controller a VPA object can only recommend, never evict or resize pods.
- external-secrets, whose role may read only this stack's Secrets Manager path, and a `ClusterSecretStore`.
- Argo Rollouts, the progressive delivery controller the ai-api workload's Rollout needs.
- The cluster's default StorageClass (gp3, encrypted, expandable, WaitForFirstConsumer).

Charts are `kubernetes.helm.v4.Chart`: it renders the chart in the program and registers every object as its own
resource, so `pulumi preview` and the policy pack see the real Deployments, ServiceAccounts and RBAC. Each add-on's
controllers run on the `system` node group (node selector + toleration of its CriticalAddonsOnly taint) and are
spread over zones when they have more than one replica. Every add-on can be switched off per stack in config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.identity import node_role, workload_role
from config import AddonsConfig, HelmAddonConfig, KarpenterConfig
from lib.aws import AwsContext
from lib.iam import decrypt_through_service, deny_insecure_transport
from lib.k8s import pod_security_labels

# Where add-on controllers run: the `system` managed node group (label set by components.cluster on every node).
SYSTEM_NODE_SELECTOR: dict[str, str] = {"node.kubernetes.io/node-group": "system"}
SYSTEM_TOLERATIONS: list[dict[str, str]] = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class ChartSource:
    """Where an official chart is published."""

    chart: str
    repo: str | None = None  # None: `chart` is an OCI reference


CHARTS: dict[str, ChartSource] = {
    "load_balancer_controller": ChartSource("aws-load-balancer-controller", "https://aws.github.io/eks-charts"),
    "karpenter": ChartSource("oci://public.ecr.aws/karpenter/karpenter"),
    "metrics_server": ChartSource("metrics-server", "https://kubernetes-sigs.github.io/metrics-server/"),
    "vpa": ChartSource("vertical-pod-autoscaler", "https://kubernetes.github.io/autoscaler"),
    "external_secrets": ChartSource("external-secrets", "https://charts.external-secrets.io"),
    "argo_rollouts": ChartSource("argo-rollouts", "https://argoproj.github.io/argo-helm"),
}
# Namespace and service account of each add-on's controller (the IRSA trust policy pins the pair).
NAMESPACES: dict[str, str] = {
    "load_balancer_controller": "kube-system",
    "karpenter": "kube-system",
    "metrics_server": "kube-system",
    "vpa": "kube-system",
    "external_secrets": "external-secrets",
    "argo_rollouts": "argo-rollouts",
}
LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
EXTERNAL_SECRETS_SERVICE_ACCOUNT = "external-secrets"
CLUSTER_SECRET_STORE_NAME = "aws-secrets-manager"  # noqa: S105 - a resource name, not a password
DEFAULT_STORAGE_CLASS = "gp3"


@dataclass(frozen=True)
class AddonsArgs:
    """Inputs of `Addons`.

    config: the `ai-platform:addons` section.
    cluster_name: the EKS cluster's name (plain, so chart values stay known at preview).
    oidc_provider_arn / oidc_issuer: the cluster's IRSA identity provider.
    vpc_id: the platform VPC (load balancer controller, scoping of its security-group creation).
    private_subnet_ids: where Karpenter launches nodes.
    node_security_group_id: the security group Karpenter nodes get (same as the managed node groups').
    imds_hop_limit: IMDSv2 hop limit of Karpenter nodes (the cluster config's, for one behaviour on every node).
    secrets_path_prefix: the Secrets Manager name prefix external-secrets may read, e.g. `ai-platform/prod/`.
    node_tags: tags Karpenter puts on the instances, volumes and ENIs it launches (cost allocation, ownership).
    aws: account, partition and region.
    kubernetes_version: the cluster's version ("1.34"): pins the namespaces' Pod Security Admission version.
    """

    config: AddonsConfig
    cluster_name: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    node_security_group_id: pulumi.Input[str]
    imds_hop_limit: int
    secrets_path_prefix: str
    node_tags: Mapping[str, str]
    aws: AwsContext
    kubernetes_version: str


def controller_placement() -> dict[str, Any]:
    """Helm values shared by every controller: run on the `system` node group, tolerating its taint."""
    return {"nodeSelector": dict(SYSTEM_NODE_SELECTOR), "tolerations": [dict(t) for t in SYSTEM_TOLERATIONS]}


def zone_spread(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """A topology spread over zones (best effort: never blocks scheduling when a zone is short of capacity)."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(labels)},
        }
    ]


# --- IAM policies (documented by each project; scoped to this cluster, account and region where AWS allows) -----


def load_balancer_controller_statements(
    aws_ctx: AwsContext, cluster_name: str, vpc_id: pulumi.Input[str], node_security_group_id: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """The AWS Load Balancer Controller's documented policy (docs/install/iam_policy.json, v2.13), with `*`
    resources narrowed to this account/region, security-group creation to this VPC, rules on existing groups to
    the node security group, and mutations of existing resources to those tagged `elbv2.k8s.aws/cluster=<this
    cluster>` instead of any cluster."""
    elb = lambda resource: aws_ctx.arn("elasticloadbalancing", resource)  # noqa: E731
    security_groups = aws_ctx.arn("ec2", "security-group/*")
    ours = {"StringEquals": {"aws:ResourceTag/elbv2.k8s.aws/cluster": cluster_name}}
    load_balancers_and_target_groups = [
        elb("targetgroup/*/*"),
        elb("loadbalancer/net/*/*"),
        elb("loadbalancer/app/*/*"),
    ]
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
            "Action": [
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
            ],
            "Resource": "*",  # Describe/List calls support no resource-level permissions
        },
        {
            "Sid": "CertificatesWafShield",
            "Effect": "Allow",
            "Action": [
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
            ],
            "Resource": "*",
        },
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
            "Action": [
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
            ],
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
            "Resource": [elb("loadbalancer/*"), elb("listener/*"), elb("listener-rule/*")],
        },
    ]


def karpenter_controller_statements(
    aws_ctx: AwsContext,
    cluster_name: str,
    node_role_arn: pulumi.Input[str],
    queue_arn: pulumi.Input[str],
) -> list[dict[str, Any]]:
    """Karpenter v1's documented controller policy (getting-started CloudFormation), for this cluster only:
    instances, launch templates and instance profiles it may touch carry `kubernetes.io/cluster/<name>=owned`."""
    region, partition = aws_ctx.region, aws_ctx.partition
    ec2 = lambda resource: aws_ctx.arn("ec2", resource)  # noqa: E731
    owned = f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}"
    resource_owned = f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}"
    instance_profiles = f"arn:{partition}:iam::{aws_ctx.account_id}:instance-profile/*"
    launched = [
        ec2(r)
        for r in (
            "fleet/*",
            "instance/*",
            "volume/*",
            "network-interface/*",
            "launch-template/*",
            "spot-instances-request/*",
        )
    ]
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
            "Condition": {
                "StringEquals": {resource_owned: "owned"},
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            },
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
                "StringEquals": {resource_owned: "owned"},
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
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
            "Condition": {
                "StringEquals": {resource_owned: "owned"},
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Action": [
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
            ],
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
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": aws_ctx.arn("eks", f"cluster/{cluster_name}"),
        },
    ]


def external_secrets_statements(aws_ctx: AwsContext, secrets_path_prefix: str) -> list[dict[str, Any]]:
    """Read-only access to the secrets under this stack's prefix, and decryption only on their behalf."""
    secrets = aws_ctx.arn("secretsmanager", f"secret:{secrets_path_prefix}*")
    return [
        {
            "Sid": "ReadThisStacksSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret",
                "secretsmanager:ListSecretVersionIds",
                "secretsmanager:GetResourcePolicy",
            ],
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


# --- Karpenter's Kubernetes objects -----------------------------------------------------------------------------


def ec2_node_class(
    config: KarpenterConfig,
    *,
    node_role_name: str,
    subnet_ids: Sequence[pulumi.Input[str]],
    security_group_id: pulumi.Input[str],
    imds_hop_limit: int,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """The default `EC2NodeClass`: AL2023, private subnets and the node security group by id, IMDSv2 only,
    encrypted gp3 root volume."""
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": "default"},
        "spec": {
            "role": node_role_name,
            "amiSelectorTerms": [{"alias": config.ami_alias}],
            "subnetSelectorTerms": [{"id": subnet_id} for subnet_id in subnet_ids],
            "securityGroupSelectorTerms": [{"id": security_group_id}],
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": imds_hop_limit,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {"volumeSize": "50Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True},
                }
            ],
            "detailedMonitoring": True,
            "tags": dict(tags),
        },
    }


def node_pool(config: KarpenterConfig) -> dict[str, Any]:
    """The default `NodePool`: instance families and capacity types from config, a vCPU/memory ceiling, nodes
    replaced after `expire_after`, consolidation when empty or underused, at most `disruption_budget` at once."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "default"},
        "spec": {
            "template": {
                "metadata": {"labels": {"node.kubernetes.io/pool": "default"}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                    "requirements": [
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                        {"key": "kubernetes.io/arch", "operator": "In", "values": list(config.architectures)},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(config.capacity_types)},
                        {
                            "key": "karpenter.k8s.aws/instance-category",
                            "operator": "In",
                            "values": list(config.instance_categories),
                        },
                        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["5"]},
                    ],
                    "expireAfter": config.expire_after,
                },
            },
            "limits": {"cpu": str(config.cpu_limit), "memory": f"{config.memory_limit_gib}Gi"},
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": config.consolidate_after,
                "budgets": [{"nodes": config.disruption_budget}],
            },
        },
    }


def interruption_rules() -> dict[str, dict[str, Any]]:
    """EventBridge patterns Karpenter handles ahead of time: spot interruptions, rebalance recommendations,
    scheduled maintenance and instance state changes."""
    return {
        "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
        "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
        "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
        "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    }


class Addons(PlatformComponent):
    """The cluster's Helm add-ons, their IAM roles, Karpenter's default pool and the default StorageClass.

    Needs the `aws` and `kubernetes` providers in `opts.providers`.
    """

    area = "addons"

    def __init__(self, name: str, args: AddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        config = args.config
        self.secrets_path_prefix: str = args.secrets_path_prefix
        self.charts: dict[str, k8s.helm.v4.Chart] = {}
        self.roles: dict[str, aws.iam.Role] = {}

        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata={
                "name": DEFAULT_STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
            reclaim_policy="Delete",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=self.child_opts(),
        )

        self.namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for key in ("external_secrets", "argo_rollouts"):
            if getattr(config, key).enabled:
                self.namespaces[key] = k8s.core.v1.Namespace(
                    f"{name}-{NAMESPACES[key]}-ns",
                    metadata={
                        "name": NAMESPACES[key],
                        # Pod Security Admission: controllers run with the restricted profile.
                        "labels": pod_security_labels(args.kubernetes_version),
                    },
                    opts=self.child_opts(),
                )

        if config.load_balancer_controller.enabled:
            self._load_balancer_controller(name, args)
        self.karpenter_node_role_name: str | None = None
        if config.karpenter.enabled:
            self._karpenter(name, args)
        if config.metrics_server.enabled:
            self._metrics_server(name, args)
        if config.vpa.enabled:
            self._vpa(name, args)
        self.cluster_secret_store_name: str | None = None
        if config.external_secrets.enabled:
            self._external_secrets(name, args)
        self.argo_rollouts_enabled: bool = config.argo_rollouts.enabled
        if config.argo_rollouts.enabled:
            self._argo_rollouts(name, args)

        self.register_outputs(
            {
                "charts": {key: chart.urn for key, chart in self.charts.items()},
                "role_arns": {key: role.arn for key, role in self.roles.items()},
                "storage_class": DEFAULT_STORAGE_CLASS,
                "cluster_secret_store_name": self.cluster_secret_store_name,
                "secrets_path_prefix": self.secrets_path_prefix,
                "argo_rollouts_enabled": self.argo_rollouts_enabled,
                "karpenter_node_role_name": self.karpenter_node_role_name,
            }
        )

    # --- helpers --------------------------------------------------------------------------------------------------

    def _chart(
        self,
        name: str,
        key: str,
        addon: HelmAddonConfig,
        values: Mapping[str, Any],
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> k8s.helm.v4.Chart:
        source = CHARTS[key]
        namespace = self.namespaces.get(key)
        chart = k8s.helm.v4.Chart(
            f"{name}-{key.replace('_', '-')}",
            chart=source.chart,
            version=addon.chart_version,
            repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=source.repo) if source.repo else None,
            namespace=NAMESPACES[key],
            values=dict(values),
            opts=self.child_opts(depends_on=[*([namespace] if namespace else []), *depends_on]),
        )
        self.charts[key] = chart
        return chart

    def _role(
        self,
        name: str,
        key: str,
        service_account: str,
        statements: list[dict[str, Any]],
        args: AddonsArgs,
        description: str,
    ) -> aws.iam.Role:
        role = workload_role(
            f"{name}-{key.replace('_', '-')}",
            namespace=NAMESPACES[key],
            service_account=service_account,
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_issuer=args.oidc_issuer,
            statements=statements,
            parent=self,
            description=description,
        )
        self.roles[key] = role
        return role

    @staticmethod
    def _pdb(replicas: int) -> dict[str, Any]:
        """A PodDisruptionBudget only when there is a replica to spare (one with a single replica blocks drains)."""
        return {"enabled": True, "minAvailable": 1} if replicas > 1 else {"enabled": False}

    # --- the add-ons ----------------------------------------------------------------------------------------------

    def _load_balancer_controller(self, name: str, args: AddonsArgs) -> None:
        addon = args.config.load_balancer_controller
        role = self._role(
            name,
            "load_balancer_controller",
            LBC_SERVICE_ACCOUNT,
            load_balancer_controller_statements(args.aws, args.cluster_name, args.vpc_id, args.node_security_group_id),
            args,
            f"AWS Load Balancer Controller of {args.cluster_name}",
        )
        labels = {"app.kubernetes.io/name": "aws-load-balancer-controller"}
        self._chart(
            name,
            "load_balancer_controller",
            addon,
            {
                "clusterName": args.cluster_name,
                "region": args.aws.region,  # explicit: pods cannot reach IMDS (hop limit 1)
                "vpcId": args.vpc_id,
                "replicaCount": addon.replicas,
                "serviceAccount": {
                    "create": True,
                    "name": LBC_SERVICE_ACCOUNT,
                    "annotations": {IRSA_ANNOTATION: role.arn},
                },
                "enableServiceMutatorWebhook": False,  # Services get an NLB only when they ask for one
                "podDisruptionBudget": {"minAvailable": 1} if addon.replicas > 1 else {},
                "topologySpreadConstraints": zone_spread(labels),
                **controller_placement(),
            },
        )

    def _karpenter(self, name: str, args: AddonsArgs) -> None:
        addon, cluster = args.config.karpenter, args.cluster_name
        self.karpenter_node_role_name = f"{cluster}-karpenter-node"
        nodes, node_policies = node_role(
            f"{name}-karpenter-node",
            aws_ctx=args.aws,
            parent=self,
            role_name=self.karpenter_node_role_name,
            description=f"Nodes Karpenter launches for {cluster}",
        )
        # API authentication mode: nodes join through an EC2_LINUX access entry for their role.
        access_entry = aws.eks.AccessEntry(
            f"{name}-karpenter-node-access",
            cluster_name=cluster,
            principal_arn=nodes.arn,
            type="EC2_LINUX",
            opts=self.child_opts(),
        )

        queue = aws.sqs.Queue(
            f"{name}-karpenter-interruptions",
            name=cluster,
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=self.child_opts(),
        )
        aws.sqs.QueuePolicy(
            f"{name}-karpenter-interruptions-policy",
            queue_url=queue.url,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "EventBridgeAndSqsDeliver",
                            "Effect": "Allow",
                            "Principal": {
                                "Service": [args.aws.service_principal("events"), args.aws.service_principal("sqs")]
                            },
                            "Action": "sqs:SendMessage",
                            "Resource": queue.arn,
                        },
                        deny_insecure_transport("sqs:*", queue.arn, sid="DenyHTTP"),
                    ],
                }
            ),
            opts=self.child_opts(),
        )
        for rule_key, pattern in interruption_rules().items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-karpenter-{rule_key}",
                description=f"Karpenter interruption handling for {cluster}: {rule_key}",
                event_pattern=pulumi.Output.json_dumps(pattern),
                opts=self.child_opts(),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-karpenter-{rule_key}-target",
                rule=rule.name,
                arn=queue.arn,
                target_id="karpenter-interruption-queue",
                opts=self.child_opts(),
            )

        role = self._role(
            name,
            "karpenter",
            KARPENTER_SERVICE_ACCOUNT,
            karpenter_controller_statements(args.aws, cluster, nodes.arn, queue.arn),
            args,
            f"Karpenter controller of {cluster}",
        )
        labels = {"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": f"{name}-karpenter"}
        chart = self._chart(
            name,
            "karpenter",
            addon,
            {
                "settings": {"clusterName": cluster, "interruptionQueue": cluster},
                "serviceAccount": {
                    "create": True,
                    "name": KARPENTER_SERVICE_ACCOUNT,
                    "annotations": {IRSA_ANNOTATION: role.arn},
                },
                "replicas": addon.replicas,
                "controller": {
                    "env": [{"name": "AWS_REGION", "value": args.aws.region}],
                    "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
                },
                "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
                "topologySpreadConstraints": zone_spread(labels),
                # Karpenter must never run on nodes it manages: only on the managed `system` group.
                **controller_placement(),
            },
            depends_on=[access_entry],
        )
        after_crds = self.child_opts(depends_on=[chart])
        self.ec2_node_class = k8s.apiextensions.CustomResource(
            f"{name}-karpenter-ec2nodeclass",
            **_custom_resource_args(
                ec2_node_class(
                    addon,
                    node_role_name=self.karpenter_node_role_name,
                    subnet_ids=args.private_subnet_ids,
                    security_group_id=args.node_security_group_id,
                    imds_hop_limit=args.imds_hop_limit,
                    tags={**args.node_tags, "Name": f"{cluster}-karpenter"},
                )
            ),
            # Karpenter launches nodes as soon as the class exists: the role must carry its policies by then.
            opts=pulumi.ResourceOptions.merge(after_crds, pulumi.ResourceOptions(depends_on=[nodes, *node_policies])),
        )
        self.node_pool = k8s.apiextensions.CustomResource(
            f"{name}-karpenter-nodepool",
            **_custom_resource_args(node_pool(addon)),
            opts=pulumi.ResourceOptions.merge(after_crds, pulumi.ResourceOptions(depends_on=[self.ec2_node_class])),
        )

    def _metrics_server(self, name: str, args: AddonsArgs) -> None:
        addon = args.config.metrics_server
        labels = {"app.kubernetes.io/name": "metrics-server"}
        self._chart(
            name,
            "metrics_server",
            addon,
            {
                "replicas": addon.replicas,
                "podDisruptionBudget": self._pdb(addon.replicas),
                "topologySpreadConstraints": zone_spread(labels),
                **controller_placement(),
            },
        )

    def _vpa(self, name: str, args: AddonsArgs) -> None:
        addon = args.config.vpa
        # Recommender only: VPA objects report recommendations; nothing evicts or mutates pods.
        self._chart(
            name,
            "vpa",
            addon,
            {
                "recommender": {
                    "enabled": True,
                    "replicas": addon.replicas,
                    "podDisruptionBudget": self._pdb(addon.replicas),
                    **controller_placement(),
                },
                "updater": {"enabled": False},
                "admissionController": {"enabled": False},
            },
        )

    def _external_secrets(self, name: str, args: AddonsArgs) -> None:
        addon = args.config.external_secrets
        role = self._role(
            name,
            "external_secrets",
            EXTERNAL_SECRETS_SERVICE_ACCOUNT,
            external_secrets_statements(args.aws, args.secrets_path_prefix),
            args,
            f"external-secrets of {args.cluster_name}: reads {args.secrets_path_prefix}*",
        )
        placement = controller_placement()
        chart = self._chart(
            name,
            "external_secrets",
            addon,
            {
                "installCRDs": True,
                "replicaCount": addon.replicas,
                "leaderElect": addon.replicas > 1,
                "serviceAccount": {
                    "create": True,
                    "name": EXTERNAL_SECRETS_SERVICE_ACCOUNT,
                    "annotations": {IRSA_ANNOTATION: role.arn},
                },
                "podDisruptionBudget": self._pdb(addon.replicas),
                **placement,
                "webhook": {
                    "replicaCount": addon.replicas,
                    "podDisruptionBudget": self._pdb(addon.replicas),
                    **placement,
                },
                "certController": {"replicaCount": 1, **placement},
            },
        )
        self.cluster_secret_store = k8s.apiextensions.CustomResource(
            f"{name}-cluster-secret-store",
            **_custom_resource_args(cluster_secret_store(args.aws.region)),
            opts=self.child_opts(depends_on=[chart]),
        )
        self.cluster_secret_store_name = CLUSTER_SECRET_STORE_NAME

    def _argo_rollouts(self, name: str, args: AddonsArgs) -> None:
        addon = args.config.argo_rollouts
        self._chart(
            name,
            "argo_rollouts",
            addon,
            {
                "installCRDs": True,
                "keepCRDs": True,  # uninstalling the controller must not delete every Rollout
                "controller": {
                    "replicas": addon.replicas,
                    "pdb": {"enabled": addon.replicas > 1, "minAvailable": 1},
                    **controller_placement(),
                },
                "dashboard": {"enabled": False},
            },
        )


def cluster_secret_store(region: str) -> dict[str, Any]:
    """The `ClusterSecretStore` for AWS Secrets Manager; it authenticates as the controller's IRSA role, which can
    only read this stack's prefix."""
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": CLUSTER_SECRET_STORE_NAME},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": region}}},
    }


def _custom_resource_args(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {"api_version": obj["apiVersion"], "kind": obj["kind"], "metadata": obj["metadata"], "spec": obj["spec"]}
