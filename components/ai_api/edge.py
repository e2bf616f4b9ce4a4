"""The ai-api edge: the WAF web ACL (blocklist, rate limit, AWS managed rules, logging) and the ALB Ingress.

The AWS Load Balancer Controller turns the Ingress into an internet-facing ALB (HTTPS only, modern TLS, access logs
to the logs bucket) with the web ACL attached; everything it needs to know is in the Ingress's annotations.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.ai_api.names import APP, HEALTH_PATH, LABELS, MAINTENANCE_ACTION
from components.base import PlatformComponent
from config import PROJECT
from config.api import ApiConfig, ApiWafConfig
from lib.k8s import object_metadata
from lib.security import blocking_names

if TYPE_CHECKING:
    from components.ai_api import AiApiArgs

# The ALB's target-group deregistration delay: in-flight requests finish before a target is dropped.
DEREGISTRATION_DELAY_SECONDS = 30
# An ALB name: at most 32 letters, digits and hyphens, not starting or ending with a hyphen (Elastic Load Balancing
# CreateLoadBalancer); the AWS Load Balancer Controller refuses a longer `load-balancer-name` annotation.
ALB_NAME_MAX = 32
# AWS managed rule groups on the web ACL, in evaluation order after the blocklist (priority 0) and the rate limit.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)


def _visibility(metric_name: str) -> aws.wafv2.WebAclVisibilityConfigArgsDict:
    return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": metric_name[:128]}


def waf_rules(name: str, waf: ApiWafConfig, blocklist_arn: pulumi.Input[str]) -> list[aws.wafv2.WebAclRuleArgsDict]:
    """Blocklist first, then the per-IP rate limit, then the AWS managed rule groups (metrics named after `name`)."""
    rules: list[aws.wafv2.WebAclRuleArgsDict] = [
        {
            "name": "blocklist",
            "priority": 0,
            "action": {"block": {}},
            "statement": {"ip_set_reference_statement": {"arn": blocklist_arn}},
            "visibility_config": _visibility(f"{name}-blocklist"),
        },
        {
            "name": "rate-limit-per-ip",
            "priority": 1,
            "action": {"block": {}},
            "statement": {
                "rate_based_statement": {
                    "limit": waf.rate_limit,
                    "aggregate_key_type": "IP",
                    "evaluation_window_sec": waf.rate_limit_window_seconds,
                }
            },
            "visibility_config": _visibility(f"{name}-rate-limit"),
        },
    ]
    for priority, group in enumerate(MANAGED_RULE_GROUPS, start=2):
        statement: aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgsDict = {
            "name": group,
            "vendor_name": "AWS",
        }
        if group == "AWSManagedRulesCommonRuleSet" and waf.common_rules_count_only:
            statement["rule_action_overrides"] = [
                {"name": rule, "action_to_use": {"count": {}}} for rule in waf.common_rules_count_only
            ]
        rules.append(
            {
                "name": group,
                "priority": priority,
                "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": statement},
                "visibility_config": _visibility(f"{name}-{group}"),
            }
        )
    return rules


def web_acl(
    owner: PlatformComponent, name: str, *, stack: str, waf: ApiWafConfig, logs_kms_key_arn: pulumi.Input[str]
) -> tuple[aws.wafv2.IpSet, aws.wafv2.WebAcl]:
    """Declare the blocklist IP set, the regional web ACL and its logging (a KMS-encrypted log group).

    Returns the blocklist (the security automation maintains its addresses) and the web ACL (the Ingress names it).
    """
    prefix = f"{PROJECT}-{stack}-{APP}"
    blocklist = aws.wafv2.IpSet(
        f"{name}-blocklist",
        name=blocking_names(stack).ip_set,  # `python -m ops security` finds it by this name
        description="Addresses blocked at the ai-api ALB, maintained by the security automation",
        scope="REGIONAL",
        ip_address_version="IPV4",
        addresses=[],
        # The security automation (components/remediation, `ops security block-ip`) maintains the list: a deployment
        # must not reset it to [] and undo its blocks, so the program declares it empty once and ignores it after.
        opts=owner.child_opts(ignore_changes=["addresses"]),
    )
    acl = aws.wafv2.WebAcl(
        f"{name}-waf",
        name=prefix,
        description=f"ai-api ALB, {stack}: blocklist, rate limit, AWS managed rules",
        scope="REGIONAL",
        default_action={"allow": {}},
        rules=waf_rules(name, waf, blocklist.arn),
        visibility_config=_visibility(prefix),
        opts=owner.child_opts(),
    )
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-waf-logs",
        name=f"aws-waf-logs-{prefix}",  # WAF only logs to groups named aws-waf-logs-*
        retention_in_days=waf.log_retention_days,
        kms_key_id=logs_kms_key_arn,
        opts=owner.child_opts(),
    )
    aws.wafv2.WebAclLoggingConfiguration(
        f"{name}-waf-logging",
        resource_arn=acl.arn,
        log_destination_configs=[log_group.arn],
        # Credentials never reach the logs.
        redacted_fields=[{"single_header": {"name": "authorization"}}, {"single_header": {"name": "cookie"}}],
        opts=owner.child_opts(),
    )
    return blocklist, acl


def load_balancer_attributes(
    config: ApiConfig, logs_bucket_name: pulumi.Input[str], access_log_prefix: str
) -> pulumi.Output[str]:
    """The ALB's attributes: access logs to the logs bucket, strict header handling, idle timeout, protection."""
    return pulumi.Output.format(
        "access_logs.s3.enabled=true,access_logs.s3.bucket={0},access_logs.s3.prefix={1},"
        "routing.http.drop_invalid_header_fields.enabled=true,routing.http.desync_mitigation_mode=strictest,"
        "idle_timeout.timeout_seconds={2},deletion_protection.enabled={3}",
        logs_bucket_name,
        access_log_prefix,
        config.idle_timeout_seconds,
        "true" if config.load_balancer_deletion_protection else "false",
    )


def load_balancer_name(stack: str) -> str:
    """The ai-api ALB's name, `ai-platform-<stack>-ai-api`, fixed so that CloudWatch alarms and operators can find it
    (the controller would otherwise generate `k8s-<namespace>-<ingress>-<hash>`). A longer name keeps its start and
    ends in 8 hex characters of its hash, so distinct stacks keep distinct names."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", f"{PROJECT}-{stack}-{APP}").strip("-")
    if len(name) > ALB_NAME_MAX:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: ALB_NAME_MAX - 9].rstrip('-')}-{digest}"
    return name


def ingress_annotations(
    config: ApiConfig,
    alb_tags: Mapping[str, str],
    web_acl_arn: pulumi.Input[str],
    load_balancer_attributes: pulumi.Input[str],
    load_balancer_name: str,
    certificate_arn: pulumi.Input[str],
) -> dict[str, pulumi.Input[str]]:
    """The AWS Load Balancer Controller's settings for the ai-api ALB."""
    annotations: dict[str, pulumi.Input[str]] = {
        "alb.ingress.kubernetes.io/load-balancer-name": load_balancer_name,
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/ip-address-type": "ipv4",
        "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
        "alb.ingress.kubernetes.io/ssl-redirect": "443",
        "alb.ingress.kubernetes.io/certificate-arn": certificate_arn,
        "alb.ingress.kubernetes.io/ssl-policy": config.ssl_policy,
        "alb.ingress.kubernetes.io/backend-protocol": "HTTP",
        "alb.ingress.kubernetes.io/healthcheck-protocol": "HTTP",
        "alb.ingress.kubernetes.io/healthcheck-port": "traffic-port",
        "alb.ingress.kubernetes.io/healthcheck-path": HEALTH_PATH,
        "alb.ingress.kubernetes.io/healthcheck-interval-seconds": "10",
        "alb.ingress.kubernetes.io/healthcheck-timeout-seconds": "5",
        "alb.ingress.kubernetes.io/healthy-threshold-count": "2",
        "alb.ingress.kubernetes.io/unhealthy-threshold-count": "2",
        "alb.ingress.kubernetes.io/success-codes": "200",
        "alb.ingress.kubernetes.io/wafv2-acl-arn": web_acl_arn,
        "alb.ingress.kubernetes.io/load-balancer-attributes": load_balancer_attributes,
        "alb.ingress.kubernetes.io/target-group-attributes": (
            f"deregistration_delay.timeout_seconds={DEREGISTRATION_DELAY_SECONDS}"
        ),
    }
    if alb_tags:
        annotations["alb.ingress.kubernetes.io/tags"] = ",".join(f"{k}={v}" for k, v in sorted(alb_tags.items()))
    return annotations


def maintenance_action(config: ApiConfig) -> dict[str, str]:
    """The annotation declaring the fixed 503 maintenance response: an ALB fixed-response action (the AWS Load
    Balancer Controller's `actions.<name>` JSON: type and fixedResponseConfig: contentType, statusCode,
    messageBody)."""
    action = {
        "type": "fixed-response",
        "fixedResponseConfig": {
            "contentType": "application/json",
            "statusCode": "503",
            "messageBody": config.maintenance.body(),
        },
    }
    return {f"alb.ingress.kubernetes.io/actions.{MAINTENANCE_ACTION}": json.dumps(action, separators=(",", ":"))}


def ingress_paths(config: ApiConfig, backend_port: str) -> list[dict[str, object]]:
    """The Ingress paths: everything to the `ai-api` Service; in maintenance mode the health check still goes to the
    pods (the Route 53 failover check and the ALB's own checks keep seeing the truth, and the Rollout still finds
    its Service in the Ingress) and every other path to the maintenance action. The controller makes one listener
    rule per path, in order, so the exact `/health` rule comes first."""
    api = {"service": {"name": APP, "port": {"name": backend_port}}}
    if not config.maintenance_mode:
        return [{"path": "/", "pathType": "Prefix", "backend": api}]
    maintenance = {"service": {"name": MAINTENANCE_ACTION, "port": {"name": "use-annotation"}}}
    return [
        {"path": HEALTH_PATH, "pathType": "Exact", "backend": api},
        {"path": "/", "pathType": "Prefix", "backend": maintenance},
    ]


def ingress(
    name: str,
    args: AiApiArgs,
    *,
    web_acl_arn: pulumi.Input[str],
    backend_port: str,
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.Ingress:
    """Declare the `ai-api` Ingress (`<name>-ingress`): the domain's paths (`ingress_paths`: all to the `ai-api`
    Service, or in maintenance mode all but the health check to the fixed 503 response), and, with
    `args.direct_health_path`, that one path for any host name (the Route 53 health check names the ALB itself).

    `backend_port` is the Service's port name, or `use-annotation` when Argo Rollouts splits traffic (canary).
    """
    config = args.config
    attributes = load_balancer_attributes(config, args.logs_bucket_name, args.access_log_prefix)
    annotations = ingress_annotations(
        config, args.alb_tags, web_acl_arn, attributes, load_balancer_name(args.stack), args.certificate_arn
    )
    if config.maintenance_mode:
        annotations.update(maintenance_action(config))
    rules: list[dict[str, object]] = [
        {"host": config.domain_name, "http": {"paths": ingress_paths(config, backend_port)}}
    ]
    if args.direct_health_path is not None:
        backend = {"service": {"name": APP, "port": {"name": backend_port}}}
        rules.append({"http": {"paths": [{"path": args.direct_health_path, "pathType": "Exact", "backend": backend}]}})
    return k8s.networking.v1.Ingress(
        f"{name}-ingress",
        metadata=object_metadata(APP, config.namespace, LABELS, annotations=annotations),
        spec={"ingressClassName": "alb", "rules": rules},
        opts=opts,
    )


def load_balancer_hostname(ingress: k8s.networking.v1.Ingress) -> pulumi.Output[str]:
    """The ALB's DNS name from the Ingress's status (`<name>-<id>.<region>.elb.amazonaws.com`). Pulumi's await logic
    for an Ingress finishes only once the controller has written it, so this is known when the Ingress is created."""
    return ingress.status.apply(lambda status: status.load_balancer.ingress[0].hostname)
