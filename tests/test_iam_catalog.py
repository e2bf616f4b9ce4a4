"""IAM documents against AWS's action catalogue (policy/rules/iam_catalog.py): one violating and one passing
hand-made document per check; every policy document of every stack passes (and quickly); and the add-on controller
policies match the official documents of the pinned versions except the narrowing listed in components.addons.iam.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.addons.iam import (
    KARPENTER_NARROWING,
    LBC_NARROWING,
    LBC_WAF_SHIELD_ACTIONS,
    karpenter_controller_statements,
    load_balancer_controller_statements,
)
from lib.aws import AwsContext
from ops.gate import policy_resources
from policy.rules import RULES_BY_ID
from policy.rules.iam_catalog import POLICY_INPUTS, document_findings
from tests.policy_cases import doc, res
from tests.test_policy_rules import run

RULE = RULES_BY_ID["iam-catalog-valid"]
ACCOUNT = "123456789012"
AWS_CTX = AwsContext(account_id=ACCOUNT, partition="aws", region="eu-west-1")
SG = f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/*"
WEB_IDENTITY = {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"}


def allow(action: Any, resource: Any = "*", condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    statement = {"Sid": "S", "Effect": "Allow", "Action": action, "Resource": resource, **extra}
    return statement | ({"Condition": condition} if condition else {})


def findings(*statements: dict[str, Any]) -> list[str]:
    return list(document_findings(doc(*statements)))


# (check, passing statement, violating statement, fragment of the finding)
CHECKS = [
    ("action exists", allow("s3:GetObject", "arn:aws:s3:::b/*"), allow("s3:GetObjects", "arn:aws:s3:::b/*"),
     "statement S: s3:GetObjects is no AWS action; AWS allows: s3:GetObject, "),
    ("wildcard matches an action", allow("s3:Get*", "arn:aws:s3:::b/*"), allow("s3:Fetch*", "arn:aws:s3:::b/*"),
     "s3:Fetch* is no AWS action"),
    ("service exists", allow("sts:GetCallerIdentity"), allow("nosuch:GetThing"),
     "nosuch:GetThing is no AWS action; AWS allows: a known service prefix"),
    ("ARN is a resource type of the action", allow("s3:ListBucket", "arn:aws:s3:::b"),
     allow("s3:ListBucket", "arn:aws:s3:::b/*"),
     "s3:ListBucket acts on none of arn:aws:s3:::b/*; AWS allows: "
     "arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}, arn:${Partition}:s3:::${BucketName}"),
    ("no resource-level permissions means *", allow("elasticloadbalancing:SetWebAcl"),
     allow("elasticloadbalancing:SetWebAcl", f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/*"),
     'elasticloadbalancing:SetWebAcl supports no resource-level permissions; AWS allows: "Resource": "*" only'),
    ("every ARN is used by an action", allow("ec2:TerminateInstances", f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"),
     allow("ec2:TerminateInstances", [f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*", SG]),
     f"resource {SG} is none of the resource types of ec2:TerminateInstances"),
    ("ARN fields match the format", allow("ec2:DeleteSecurityGroup", SG),
     allow("ec2:DeleteSecurityGroup", "arn:aws:ec2:us-east-1::security-group/*"),
     "ec2:DeleteSecurityGroup acts on none of arn:aws:ec2:us-east-1::security-group/*"),
    ("public SSM parameters have no account",
     allow("ssm:GetParameter", "arn:aws:ssm:us-east-1::parameter/aws/service/*"),
     allow("ssm:GetParameter", "arn:aws:ssm:us-east-1::parameter/team/*"), "ssm:GetParameter acts on none of"),
    ("a resource is an ARN", allow("s3:GetObject", "arn:aws:s3:::b/k"), allow("s3:GetObject", "b/k"),
     "resource b/k is not an ARN; AWS allows: an ARN or *"),
    ("action condition key", allow("ec2:CreateTags", SG, {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}}),
     allow("ec2:CreateTags", SG, {"StringEquals": {"s3:prefix": "x"}}),
     "condition key s3:prefix is not evaluated for ec2:CreateTags; AWS allows: aws:* global keys, "),
    ("resource-type condition key", allow("kms:Decrypt", "*", {"StringLike": {"kms:EncryptionContext:SecretARN": "a"}}),
     allow("kms:Decrypt", "*", {"StringEquals": {"kms:Grantee": "a"}}), "condition key kms:Grantee is not evaluated"),
    ("global condition key", allow("pricing:GetProducts", "*", {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
     allow("pricing:GetProducts", "*", {"StringEquals": {"aws:RequestedRegions": "eu-west-1"}}),
     "condition key aws:RequestedRegions is not evaluated for pricing:GetProducts"),
    ("tag condition keys", allow("ec2:DeleteSecurityGroup", SG, {"Null": {"aws:ResourceTag/team": "false"}}),
     allow("ec2:DeleteSecurityGroup", SG, {"Null": {"aws:ResourceTags/team": "false"}}),
     "condition key aws:ResourceTags/team is not evaluated"),
    ("web-identity token claims",
     {"Effect": "Allow", "Principal": WEB_IDENTITY, "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/X:sub": "system:serviceaccount:a:b"}}},
     {"Sid": "S", "Effect": "Allow", "Principal": WEB_IDENTITY, "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/X:subject": "system:serviceaccount:a:b"}}},
     "condition key oidc.eks.us-east-1.amazonaws.com/id/X:subject is not evaluated"),
    ("NotAction: the excluded actions exist", {"Effect": "Deny", "NotAction": ["iam:*", "sts:GetCallerIdentity"],
                                              "Resource": "*"},
     {"Sid": "S", "Effect": "Deny", "NotAction": "iam:ListUserz", "Resource": "*"}, "iam:ListUserz is no AWS action"),
    ("NotResource: the exclusion names resources of the actions",
     {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/*"},
     {"Sid": "S", "Effect": "Deny", "Action": "s3:*", "NotResource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"},
     f"resource arn:aws:sqs:us-east-1:{ACCOUNT}:q is none of the resource types of s3:*"),
]  # fmt: skip


@pytest.mark.parametrize(("check", "good", "bad", "fragment"), CHECKS, ids=[c[0] for c in CHECKS])
def test_each_check_passes_a_good_document_and_names_the_problem_in_a_bad_one(
    check: str, good: dict[str, Any], bad: dict[str, Any], fragment: str
) -> None:
    assert findings(good) == [], check
    assert any(fragment in finding for finding in findings(bad)), findings(bad)


def test_a_finding_names_the_resource_the_statement_the_action_and_what_aws_allows() -> None:
    policy = doc(allow("elasticloadbalancing:SetWebAcl", "arn:aws:elasticloadbalancing:us-east-1:1:listener/*"))
    role = {"assumeRolePolicy": doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                     "Action": "sts:AssumeRole"}),
            "inlinePolicies": [{"name": "waf", "policy": policy}]}  # fmt: skip
    assert run(RULE, [res("aws:iam/role:Role", "lbc-role", role)]) == [
        "lbc-role inline policy waf statement S: elasticloadbalancing:SetWebAcl supports no resource-level "
        'permissions; AWS allows: "Resource": "*" only'
    ]


def test_values_unknown_during_preview_pass() -> None:
    assert findings(allow("s3:GetObject", "[unknown]"), allow("[unknown]", "arn:aws:s3:::b/*")) == []
    assert list(document_findings("[unknown]")) == []
    assert list(document_findings("[secret]")) == []


def test_a_document_that_is_not_json_is_a_finding() -> None:
    assert list(document_findings("{not json")) == ["policy document is not valid JSON (Expecting property name "
                                                    "enclosed in double quotes)"]  # fmt: skip


# --- the stacks ---------------------------------------------------------------------------------------------------


def _documents_in(value: Any) -> int:
    """How many JSON policy documents (objects with a Statement) an input holds, at any depth."""
    if isinstance(value, str) and value.lstrip().startswith("{") and '"Statement"' in value:
        return 1
    if isinstance(value, dict):
        return sum(_documents_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(_documents_in(v) for v in value)
    return 0


def test_every_policy_document_of_every_stack_is_valid(plan_of: Any, any_stack: str) -> None:
    plan = plan_of(any_stack)
    holders = [r for r in plan.resources if _documents_in(r.inputs)]
    assert {r.type for r in holders} <= set(POLICY_INPUTS), "a policy-typed input the rule does not read"
    assert sum(_documents_in(r.inputs) for r in holders) >= 25
    assert RULE.evaluate_stack(policy_resources(plan)) == []


# --- the add-on controllers against their official documents ------------------------------------------------------

# AWS Load Balancer Controller v2.13.0, docs/install/iam_policy.json: every action it grants.
OFFICIAL_LBC_ACTIONS = {
    "iam:CreateServiceLinkedRole", "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones", "ec2:DescribeInternetGateways", "ec2:DescribeVpcs",
    "ec2:DescribeVpcPeeringConnections", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools",
    "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools", "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation", "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates",
    "acm:DescribeCertificate", "iam:ListServerCertificates", "iam:GetServerCertificate", "waf-regional:GetWebACL",
    "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL", "waf-regional:DisassociateWebACL",
    "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
    "shield:GetSubscriptionState", "shield:DescribeProtection", "shield:CreateProtection", "shield:DeleteProtection",
    "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:CreateSecurityGroup",
    "ec2:CreateTags", "ec2:DeleteTags", "ec2:DeleteSecurityGroup", "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:DeleteListener", "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
    "elasticloadbalancing:ModifyIpPools", "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities",
}  # fmt: skip
# Karpenter v1.8.1, website/content/en/v1.8/getting-started/getting-started-with-karpenter/cloudformation.yaml
# (KarpenterControllerPolicy): Sid -> actions.
OFFICIAL_KARPENTER = {
    "AllowScopedEC2InstanceAccessActions": {"ec2:RunInstances", "ec2:CreateFleet"},
    "AllowScopedEC2LaunchTemplateAccessActions": {"ec2:RunInstances", "ec2:CreateFleet"},
    "AllowScopedEC2InstanceActionsWithTags": {"ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"},
    "AllowScopedResourceCreationTagging": {"ec2:CreateTags"},
    "AllowScopedResourceTagging": {"ec2:CreateTags"},
    "AllowScopedDeletion": {"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"},
    "AllowRegionalReadActions": {
        "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
        "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
        "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
    },
    "AllowSSMReadActions": {"ssm:GetParameter"},
    "AllowPricingReadActions": {"pricing:GetProducts"},
    "AllowInterruptionQueueActions": {"sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"},
    "AllowPassingInstanceRole": {"iam:PassRole"},
    "AllowScopedInstanceProfileCreationActions": {"iam:CreateInstanceProfile"},
    "AllowScopedInstanceProfileTagActions": {"iam:TagInstanceProfile"},
    "AllowScopedInstanceProfileActions": {
        "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"
    },
    "AllowInstanceProfileReadActions": {"iam:GetInstanceProfile"},
    "AllowUnscopedInstanceProfileListAction": {"iam:ListInstanceProfiles"},
    "AllowAPIServerEndpointDiscovery": {"eks:DescribeCluster"},
}  # fmt: skip


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def lbc() -> list[dict[str, Any]]:
    return load_balancer_controller_statements(AWS_CTX, "c1", "vpc-1", "sg-1")


def karpenter() -> list[dict[str, Any]]:
    queue = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:c1"
    return karpenter_controller_statements(AWS_CTX, "c1", f"arn:aws:iam::{ACCOUNT}:role/n", queue)


def test_controllers_grant_exactly_the_official_actions() -> None:
    assert set().union(*(_actions(s) for s in lbc())) == OFFICIAL_LBC_ACTIONS
    assert {s["Sid"]: _actions(s) for s in karpenter()} == OFFICIAL_KARPENTER


def test_every_listed_narrowing_names_a_statement() -> None:
    assert set(LBC_NARROWING) <= {s["Sid"] for s in lbc()}
    assert set(KARPENTER_NARROWING) <= set(OFFICIAL_KARPENTER)


def test_load_balancer_controller_may_attach_waf_and_shield_to_any_load_balancer() -> None:
    """Scoped to listener ARNs, SetWebAcl was denied at run time: the public entry came up without its WAF."""
    waf_shield = set(LBC_WAF_SHIELD_ACTIONS)
    assert {"elasticloadbalancing:SetWebAcl", "wafv2:AssociateWebACL", "shield:CreateProtection"} <= waf_shield
    for statement in lbc():
        if _actions(statement) & waf_shield:
            assert statement["Resource"] == "*", statement["Sid"]
            assert "Condition" not in statement, statement["Sid"]


def test_load_balancer_controller_modifies_attributes_of_its_own_listeners() -> None:
    statements = {s["Sid"]: s for s in lbc()}
    granted = [s for s in statements.values() if "elasticloadbalancing:ModifyListenerAttributes" in _actions(s)]
    assert [s["Sid"] for s in granted] == ["ModifyOwnListenerAttributes"]
    assert granted[0]["Resource"] == [
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/net/*/*/*",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/*/*/*",
    ]
    assert granted[0]["Condition"] == {"StringEquals": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "c1"}}
    assert statements["Describe"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}


def test_karpenter_tags_only_instance_profiles_already_carrying_this_clusters_tags() -> None:
    """Conditioned on request tags alone, TagInstanceProfile let Karpenter claim any profile of the account."""
    statements = {s["Sid"]: s for s in karpenter()}
    tagging = [s for s in statements.values() if "iam:TagInstanceProfile" in _actions(s)]
    assert [s["Sid"] for s in tagging] == ["AllowScopedInstanceProfileTagActions"]
    assert tagging[0]["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/kubernetes.io/cluster/c1": "owned",
            "aws:ResourceTag/topology.kubernetes.io/region": "eu-west-1",
            "aws:RequestTag/kubernetes.io/cluster/c1": "owned",
            "aws:RequestTag/eks:eks-cluster-name": "c1",
            "aws:RequestTag/topology.kubernetes.io/region": "eu-west-1",
        },
        "StringLike": {
            "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
            "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
        },
    }
    create = statements["AllowScopedInstanceProfileCreationActions"]
    assert create["Condition"]["StringEquals"]["aws:RequestTag/kubernetes.io/cluster/c1"] == "owned"
    for statement in statements.values():
        if _actions(statement) & {"iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
                                  "iam:DeleteInstanceProfile"}:  # fmt: skip
            assert statement["Condition"]["StringEquals"]["aws:ResourceTag/kubernetes.io/cluster/c1"] == "owned"
    assert statements["AllowUnscopedInstanceProfileListAction"]["Resource"] == "*"


def test_karpenter_creation_grants_name_only_resources_its_launch_calls_create() -> None:
    statements = {s["Sid"]: s for s in karpenter()}
    launch = statements["AllowScopedEC2InstanceActionsWithTags"]["Resource"]
    assert f"arn:aws:ec2:eu-west-1:{ACCOUNT}:capacity-reservation/*" in launch
    assert not any("spot-instances-request" in arn for arn in launch)
    assert any("spot-instances-request" in arn for arn in statements["AllowScopedResourceCreationTagging"]["Resource"])
    plain = json.loads(json.dumps(karpenter()))
    assert list(document_findings({"Version": "2012-10-17", "Statement": plain})) == []
