"""ThreatDetection: the account's GuardDuty detector with its protection plans, Security Hub with the FSBP and CIS
standards, Amazon Inspector, and the EventBridge rules that route their findings to the platform's alert topics.

Account-level singletons (one detector, one hub, one Inspector enablement per account and region): only the stack
with `ai-platform:security.manage_account_security` declares this component, so two stacks never fight over them.

Routing (README "Security operations"): GuardDuty severity 7 and above (high, critical) pages (critical topic),
4 to 6.9 (medium) goes to the warning topic; Security Hub's new, active CRITICAL findings page and HIGH ones warn,
except those GuardDuty itself produced (already routed by the GuardDuty rules). Low findings stay in the consoles.
The automated IP blocking has its own rule on the same events: these rules only notify people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from config import PROJECT
from config.security import GuardDutyConfig, InspectorConfig, SecurityHubConfig, SecurityStandard
from lib.aws import AwsContext

# Security Hub standards and the version enabled (regional ARNs: `arn:<partition>:securityhub:<region>::standards/`).
STANDARD_VERSIONS: dict[SecurityStandard, str] = {
    "aws-foundational-security-best-practices": "1.0.0",
    "cis-aws-foundations-benchmark": "3.0.0",
}
# GuardDuty severities (GuardDuty user guide, "Severity levels of GuardDuty findings"): low 1.0-3.9, medium
# 4.0-6.9, high 7.0-8.9, critical 9.0-10.0.
MEDIUM_SEVERITY, HIGH_SEVERITY = 4, 7
Topic = Literal["critical", "warning"]


@dataclass(frozen=True)
class ThreatDetectionArgs:
    """Inputs of `ThreatDetection`.

    guardduty, security_hub, inspector: the sections of `ai-platform:security` for each service.
    stack: names the rules (`ai-platform-<stack>-...`: the alert topics' policies admit exactly those).
    aws: account, partition and region (standards ARNs, Inspector's account).
    topic_arns: the alert topics (Alarms output), at least `critical` and `warning`; the component's
        `depends_on` must hold their owner, so that their policies admit EventBridge before a rule delivers.
    """

    guardduty: GuardDutyConfig
    security_hub: SecurityHubConfig
    inspector: InspectorConfig
    stack: str
    aws: AwsContext
    topic_arns: Mapping[Any, pulumi.Input[str]]


def guardduty_features(config: GuardDutyConfig) -> dict[str, list[dict[str, str]]]:
    """Detector feature name -> its additional configurations (empty when none): EKS audit logs, RDS login
    activity and S3 data events always; runtime monitoring (with GuardDuty managing the EKS agent add-on), malware
    scans of EBS volumes and Lambda network logs as configured. EKS_RUNTIME_MONITORING, not RUNTIME_MONITORING:
    the API refuses both at once and the platform's compute is EKS only."""
    features: dict[str, list[dict[str, str]]] = {"EKS_AUDIT_LOGS": [], "RDS_LOGIN_EVENTS": [], "S3_DATA_EVENTS": []}
    if config.runtime_monitoring:
        features["EKS_RUNTIME_MONITORING"] = [{"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}]
    if config.malware_protection:
        features["EBS_MALWARE_PROTECTION"] = []
    if config.lambda_network_logs:
        features["LAMBDA_NETWORK_LOGS"] = []
    return features


def standards_arn(standard: SecurityStandard, aws_ctx: AwsContext) -> str:
    """`arn:<partition>:securityhub:<region>::standards/<standard>/v/<version>` (Security Hub user guide,
    "Standards reference")."""
    return f"arn:{aws_ctx.partition}:securityhub:{aws_ctx.region}::standards/{standard}/v/{STANDARD_VERSIONS[standard]}"


def guardduty_pattern(low: float, high: float | None = None) -> dict[str, Any]:
    """GuardDuty findings with `low <= severity` (and `< high`, given)."""
    bounds: list[str | float] = [">=", low]
    if high is not None:
        bounds += ["<", high]
    return {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": bounds}]},
    }


def security_hub_pattern(label: str) -> dict[str, Any]:
    """Security Hub findings of one severity label that are new and active, except GuardDuty's own."""
    return {
        "source": ["aws.securityhub"],
        "detail-type": ["Security Hub Findings - Imported"],
        "detail": {
            "findings": {
                "Severity": {"Label": [label]},
                "Workflow": {"Status": ["NEW"]},
                "RecordState": ["ACTIVE"],
                "ProductName": [{"anything-but": "GuardDuty"}],
            }
        },
    }


# Rule key -> (what it catches, its event pattern, the topic it goes to).
FINDING_ROUTES: dict[str, tuple[str, dict[str, Any], Topic]] = {
    "guardduty-high": (
        f"GuardDuty findings of severity {HIGH_SEVERITY} or more (high, critical)",
        guardduty_pattern(HIGH_SEVERITY),
        "critical",
    ),
    "guardduty-medium": (
        f"GuardDuty findings of severity {MEDIUM_SEVERITY} to {HIGH_SEVERITY - 0.1} (medium)",
        guardduty_pattern(MEDIUM_SEVERITY, HIGH_SEVERITY),
        "warning",
    ),
    "securityhub-critical": (
        "new CRITICAL Security Hub findings (not GuardDuty's)",
        security_hub_pattern("CRITICAL"),
        "critical",
    ),
    "securityhub-high": (
        "new HIGH Security Hub findings (not GuardDuty's)",
        security_hub_pattern("HIGH"),
        "warning",
    ),
}


class ThreatDetection(PlatformComponent):
    """GuardDuty (detector and features), Security Hub (account and standards), Inspector, and finding routes."""

    area = "security"

    def __init__(self, name: str, args: ThreatDetectionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        self.detector = aws.guardduty.Detector(
            f"{name}-guardduty",
            enable=True,
            finding_publishing_frequency=args.guardduty.finding_publishing_frequency,
            opts=self.child_opts(),
        )
        for feature, extra in guardduty_features(args.guardduty).items():
            aws.guardduty.DetectorFeature(
                f"{name}-guardduty-{feature.lower().replace('_', '-')}",
                detector_id=self.detector.id,
                name=feature,
                status="ENABLED",
                additional_configurations=extra or None,
                opts=self.child_opts(),
            )

        self.hub = aws.securityhub.Account(
            f"{name}-securityhub",
            # Standards are subscribed explicitly below; consolidated control findings, new controls enabled.
            enable_default_standards=False,
            control_finding_generator="SECURITY_CONTROL",
            auto_enable_controls=True,
            opts=self.child_opts(),
        )
        self.standards_arns = [standards_arn(s, args.aws) for s in args.security_hub.standards]
        for standard, arn in zip(args.security_hub.standards, self.standards_arns, strict=True):
            aws.securityhub.StandardsSubscription(
                f"{name}-securityhub-{standard}",
                standards_arn=arn,
                opts=self.child_opts(depends_on=[self.hub]),
            )

        self.inspector = aws.inspector2.Enabler(
            f"{name}-inspector",
            account_ids=[args.aws.account_id],
            resource_types=list(args.inspector.resource_types),
            opts=self.child_opts(),
        )
        self.rule_names = self._routes(name, args)

        self.detector_id = self.detector.id
        self.hub_id = self.hub.id
        self.register_outputs(
            {"detector_id": self.detector_id, "hub_id": self.hub_id, "standards_arns": self.standards_arns,
             "rule_names": self.rule_names}
        )  # fmt: skip

    def _routes(self, name: str, args: ThreatDetectionArgs) -> list[str]:
        """One EventBridge rule per route, its target the route's alert topic (after the topic admits EventBridge)."""
        prefix = f"{PROJECT}-{args.stack}"
        names = []
        for key, (what, pattern, topic) in FINDING_ROUTES.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{key}",
                name=f"{prefix}-{key}",
                description=f"{what} to the {topic} alert topic",
                event_pattern=pulumi.Output.json_dumps(pattern),
                opts=self.child_opts(),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{key}-target",
                rule=rule.name,
                arn=args.topic_arns[topic],
                target_id=f"{topic}-alerts-topic",
                retry_policy={"maximum_event_age_in_seconds": 86400, "maximum_retry_attempts": 185},
                opts=self.child_opts(depends_on=list(self.waits_for)),
            )
            names.append(f"{prefix}-{key}")
        return names
