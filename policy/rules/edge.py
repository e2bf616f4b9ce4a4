"""Edge rules: WAF web ACLs (managed rules, logging), every public entry point behind one, and the DNS side: zones
log their queries, certificates are DNS-validated with strong keys, records point only at known targets."""

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


# --- DNS and certificates ------------------------------------------------------------------------------------------

ZONE = "aws:route53/zone:Zone"
QUERY_LOG = "aws:route53/queryLog:QueryLog"
RECORD = "aws:route53/record:Record"
CERTIFICATE = "aws:acm/certificate:Certificate"
# ACM key algorithms at least as strong as RSA 2048 (FSBP ACM.2: RSA keys of 2048 bits or more; ECDSA keys).
STRONG_KEY_ALGORITHMS = ("RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1")
# Where the platform's records may point: Elastic Load Balancing names (aliases and failover CNAMEs) and ACM's
# validation names. A record to anything else (an S3 website, a CDN or SaaS host) can dangle when that target is
# released, and whoever claims it next serves content under the platform's name.
KNOWN_TARGET_SUFFIXES = ["elb.amazonaws.com", "elb.amazonaws.com.cn", "acm-validations.aws"]


@stack_rule(
    id="route53-query-logging",
    area="edge",
    types=(ZONE,),
    description="Every public hosted zone logs the DNS queries it answers (Route 53 QueryLog to CloudWatch Logs).",
    severity=MEDIUM,
    remediation=(
        "Declare aws.route53.QueryLog(zone_id=zone.zone_id, cloudwatch_log_group_arn=<log group in us-east-1 with a "
        "resource policy admitting route53.amazonaws.com>) (components/edge/zone.py does)."
    ),
    controls=("FSBP Route53.2",),
    on_unknown="pass",
)
def route53_query_logging(zone: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert zone is not None
    if items(zone.props.get("vpcs")):
        return  # a private zone: Route 53 query logging covers public zones only (Resolver logs cover VPCs)
    if not index.dependents(zone, QUERY_LOG):
        yield f"public hosted zone {zone.name} has no query logging configuration"


@resource_rule(
    id="acm-certificate-dns-validated",
    area="edge",
    types=(CERTIFICATE,),
    description=(
        "ACM certificates the stack requests use DNS validation (renewed by ACM without anyone acting) and an RSA "
        "key of 2048 bits or more, or an ECDSA key."
    ),
    severity=HIGH,
    remediation=(
        "Request the certificate with validation_method='DNS' and its validation records in the zone "
        "(components/edge/certificate.py), key_algorithm RSA_2048 or stronger, or EC_prime256v1/EC_secp384r1."
    ),
    controls=("FSBP ACM.1", "FSBP ACM.2"),
    on_unknown="fail",
)
def acm_certificate_dns_validated(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    if is_set(props, "certificateBody") or is_set(props, "certificateAuthorityArn"):
        return  # imported, or issued by a private CA: no validation, judged where it was made
    method = props.get("validationMethod")
    if method != "DNS":
        yield f"validationMethod is {method!r}: only DNS validation renews without a person acting"
    algorithm = props.get("keyAlgorithm") or "RSA_2048"  # ACM's default
    if algorithm not in STRONG_KEY_ALGORITHMS:
        yield f"keyAlgorithm {algorithm} is weaker than RSA 2048; allowed: {', '.join(STRONG_KEY_ALGORITHMS)}"


def _targets(props: Mapping[str, Any]) -> list[str]:
    """The names a record points at: its alias targets, and the values of a CNAME."""
    names = [str(mapping(alias).get("name", "")) for alias in items(props.get("aliases"))]
    if props.get("type") == "CNAME":
        names += [str(value) for value in items(props.get("records"))]
    return names


@resource_rule(
    id="route53-known-targets",
    area="edge",
    types=(RECORD,),
    description=(
        "Alias and CNAME records point only at known targets (load balancers, ACM validation): a record to a "
        "released third-party target is a subdomain takeover."
    ),
    severity=MEDIUM,
    remediation=(
        "Point records at the platform's load balancers (EntryRecord) or ACM's validation names; add another "
        "target's suffix to knownTargetSuffixes only for a resource the platform owns."
    ),
    controls=(),
    on_unknown="pass",
    params={
        "knownTargetSuffixes": Param(
            KNOWN_TARGET_SUFFIXES,
            {"type": "array", "items": {"type": "string"}},
            "DNS name suffixes records may point at.",
        ),
    },
)
def route53_known_targets(_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    suffixes = [str(suffix).strip(".").lower() for suffix in config["knownTargetSuffixes"]]
    for target in _targets(props):
        name = target.strip(".").lower()
        if not any(name == suffix or name.endswith(f".{suffix}") for suffix in suffixes):
            yield f"record {props.get('name')} points at {target}, not a known target ({', '.join(suffixes)})"
