"""Edge rules: WAF web ACLs (managed rules, logging) and that every public entry point sits behind one."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import HIGH, MEDIUM, Param, StackIndex, dig, is_set, items, mapping, resource_rule, stack_rule, truthy

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SERVICE = "kubernetes:core/v1:Service"

SCHEME = "alb.ingress.kubernetes.io/scheme"
WAF_ANNOTATION = "alb.ingress.kubernetes.io/wafv2-acl-arn"
NLB_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
REQUIRED_MANAGED_RULES = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]


def _managed_groups(props: Mapping[str, Any]) -> dict[str, bool]:
    """Managed rule group name -> enforced (not in count mode), from `rules` or `ruleJson`."""
    found: dict[str, bool] = {}
    for rule in items(props.get("rules")):
        group = dig(rule, "statement", "managedRuleGroupStatement")
        if isinstance(group, Mapping) and group.get("vendorName") == "AWS":
            found[str(group.get("name"))] = "count" not in mapping(rule.get("overrideAction"))
    raw = props.get("ruleJson")
    if isinstance(raw, str) and raw:
        for rule in json.loads(raw):
            group = dig(rule, "Statement", "ManagedRuleGroupStatement")
            if isinstance(group, Mapping) and group.get("VendorName") == "AWS":
                found[str(group.get("Name"))] = "Count" not in mapping(rule.get("OverrideAction"))
    return found


@resource_rule(
    id="waf-managed-rules",
    area="edge",
    types=(WEB_ACL,),
    description="Web ACLs enforce the AWS managed rule groups (common rule set, known bad inputs), not in count mode.",
    severity=HIGH,
    remediation=(
        "Add rules with managed_rule_group_statement {vendor_name: 'AWS', name: ...} and override_action {none: {}}."
    ),
    controls=("FSBP WAF.10", "FSBP WAF.12", "CKV_AWS_192", "CKV2_AWS_31"),
    on_unknown="fail",
    params={
        "requiredRuleGroups": Param(
            REQUIRED_MANAGED_RULES,
            {"type": "array", "items": {"type": "string"}},
            "AWS managed rule groups every web ACL must enforce.",
        ),
    },
)
def waf_managed_rules(_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    groups = _managed_groups(props)
    for name in config["requiredRuleGroups"]:
        if name not in groups:
            yield f"managed rule group {name} is missing"
        elif not groups[name]:
            yield f"managed rule group {name} only counts (override_action count)"


@stack_rule(
    id="waf-logging",
    area="edge",
    types=(WEB_ACL,),
    description="Every web ACL logs its requests (WebAclLoggingConfiguration).",
    severity=MEDIUM,
    remediation=(
        "Declare aws.wafv2.WebAclLoggingConfiguration(resource_arn=acl.arn, log_destination_configs=[<aws-waf-logs-* "
        "log group ARN>])."
    ),
    controls=("FSBP WAF.11", "CKV2_AWS_31"),
    on_unknown="pass",
)
def waf_logging(acl: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert acl is not None
    if not index.dependents(acl, WEB_ACL_LOGGING):
        yield f"web ACL {acl.name} has no logging configuration"


def _annotations(resource: PolicyResource) -> Mapping[str, Any]:
    return mapping(dig(resource.props, "metadata", "annotations"))


@stack_rule(
    id="waf-public-entry-protected",
    area="edge",
    types=(INGRESS, SERVICE, *LOAD_BALANCERS),
    description=(
        "Every internet-facing entry point (ALB Ingress, load balancer) is protected by a WAF web ACL. An Ingress "
        "whose web ACL ARN annotation is set but unknown (a first preview, before the web ACL exists) passes: "
        "`pulumi up` checks the ARN once AWS assigns it."
    ),
    severity=HIGH,
    remediation=(
        f"Annotate internet-facing Ingresses with {WAF_ANNOTATION}=<web ACL ARN>; associate "
        f"aws.wafv2.WebAclAssociation with public ALBs; never expose a Service of type LoadBalancer to the internet."
    ),
    controls=("CKV2_AWS_28", "CKV2_AWS_76"),
    on_unknown="fail",
)
def waf_public_entry(entry: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert entry is not None
    if entry.resource_type == INGRESS:
        public = _annotations(entry).get(SCHEME) == "internet-facing"
        if public and not is_set(entry.props, "metadata", "annotations", WAF_ANNOTATION):
            yield f"internet-facing Ingress {entry.name} has no {WAF_ANNOTATION}"
    elif entry.resource_type == SERVICE:
        if (
            dig(entry.props, "spec", "type") == "LoadBalancer"
            and _annotations(entry).get(NLB_SCHEME) == "internet-facing"
        ):
            yield (
                f"Service {entry.name} is an internet-facing network load balancer: WAF cannot protect it; "
                "use the ALB Ingress"
            )
    elif (
        not truthy(entry.props.get("internal")) and entry.props.get("loadBalancerType", "application") == "application"
    ) and not index.dependents(entry, WEB_ACL_ASSOCIATION):
        yield f"public load balancer {entry.name} has no WebAclAssociation"
