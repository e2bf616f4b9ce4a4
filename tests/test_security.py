"""Audit and detection (components/security): the stack owning the account's security services declares the trail,
its locked bucket, GuardDuty with its plans, Security Hub with FSBP and CIS, Inspector and the finding routes; a
stack that does not own them declares none of it; the config refuses what AWS or the routing would."""

from __future__ import annotations

import json

import pytest

from components.security.detection import FINDING_ROUTES, standards_arn
from components.security.trail import event_selectors
from config import StackConfigError
from lib.aws import AwsContext
from ops.gate import evaluate
from tests.conftest import stack_config

ACCOUNT_TYPES = (
    "aws:cloudtrail/trail:Trail",
    "aws:guardduty/detector:Detector",
    "aws:guardduty/detectorFeature:DetectorFeature",
    "aws:securityhub/account:Account",
    "aws:securityhub/standardsSubscription:StandardsSubscription",
    "aws:inspector2/enabler:Enabler",
)
OWNED = {"ai-platform:security": {"manage_account_security": True}}


def _one(plan, type_: str):
    [resource] = plan.by_type(type_)
    return resource


def test_prod_owns_a_multi_region_validated_encrypted_trail(plan_of) -> None:
    plan = plan_of("prod")
    trail = _one(plan, "aws:cloudtrail/trail:Trail")
    assert trail.inputs["name"] == "ai-platform-prod-audit"
    assert trail.inputs["isMultiRegionTrail"] is True
    assert trail.inputs["includeGlobalServiceEvents"] is True
    assert trail.inputs["enableLogFileValidation"] is True
    assert trail.inputs["kmsKeyId"].endswith("key/prod-identity-audit-key-key-id"), "the audit key"
    assert trail.inputs["cloudWatchLogsGroupArn"].endswith(":log-group:/aws/cloudtrail/ai-platform-prod-audit:*")
    management, objects = trail.inputs["advancedEventSelectors"]
    assert management["fieldSelectors"] == [{"field": "eventCategory", "equals": ["Management"]}]
    watched = objects["fieldSelectors"][2]["startsWiths"]
    assert sorted(arn.split(":::")[1].split("-")[3] for arn in watched) == ["data", "exports", "models"]
    assert all(arn.endswith("-123456789012-us-east-1/") for arn in watched), "objects of each bucket, not the bucket"


def test_the_audit_key_admits_only_this_trail(plan_of) -> None:
    [key] = [k for k in plan_of("prod").by_type("aws:kms/key:Key") if k.name.endswith("-audit-key")]
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    encrypt = statements["CloudTrailEncryptsThisTrailsLogs"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    trail = "arn:aws:cloudtrail:us-east-1:123456789012:trail/ai-platform-prod-audit"
    assert encrypt["Condition"]["StringEquals"] == {"aws:SourceArn": trail}
    assert encrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:123456789012:trail/*"
    }
    assert statements["CloudTrailDescribesKey"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail}}


def test_the_trail_bucket_is_locked_private_and_only_this_trail_writes(plan_of) -> None:
    plan = plan_of("prod")
    [bucket] = [b for b in plan.by_type("aws:s3/bucket:Bucket") if b.name == "prod-audit-bucket"]
    assert bucket.inputs["objectLockEnabled"] is True
    assert bucket.protect is True
    [audit_lock] = [r for r in plan.by_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
                    if r.name == "prod-audit-bucket-object-lock"]  # fmt: skip
    assert audit_lock.inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 365}
    [policy] = [p for p in plan.by_type("aws:s3/bucketPolicy:BucketPolicy") if p.name == "prod-audit-bucket-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    write = statements["CloudTrailWrite"]
    assert write["Resource"].endswith("/AWSLogs/123456789012/*")
    assert write["Condition"]["StringEquals"]["aws:SourceArn"].endswith(":trail/ai-platform-prod-audit")
    assert "DenyInsecureTransport" in statements
    [logs_policy] = [
        p for p in plan.by_type("aws:s3/bucketPolicy:BucketPolicy") if p.name == "prod-storage-logs-policy"
    ]
    [delivery] = [s for s in json.loads(logs_policy.inputs["policy"])["Statement"]
                  if s["Sid"] == "S3ServerAccessLogDelivery"]  # fmt: skip
    assert (
        "arn:aws:s3:::ai-platform-prod-audit-123456789012-us-east-1"
        in delivery["Condition"]["ArnLike"]["aws:SourceArn"]
    )


def test_guardduty_has_the_protection_plans(plan_of) -> None:
    plan = plan_of("prod")
    detector = _one(plan, "aws:guardduty/detector:Detector")
    assert detector.inputs["enable"] is True
    assert detector.inputs["findingPublishingFrequency"] == "FIFTEEN_MINUTES"
    features = {f.inputs["name"]: f.inputs for f in plan.by_type("aws:guardduty/detectorFeature:DetectorFeature")}
    assert sorted(features) == sorted(
        ["EKS_AUDIT_LOGS", "EKS_RUNTIME_MONITORING", "RDS_LOGIN_EVENTS", "S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION"]
    )
    assert all(f["status"] == "ENABLED" for f in features.values())
    assert features["EKS_RUNTIME_MONITORING"]["additionalConfigurations"] == [
        {"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}
    ]


def test_security_hub_subscribes_fsbp_and_cis_with_regional_arns(plan_of) -> None:
    plan = plan_of("prod")
    hub = _one(plan, "aws:securityhub/account:Account")
    assert hub.inputs["enableDefaultStandards"] is False
    assert hub.inputs["controlFindingGenerator"] == "SECURITY_CONTROL"
    arns = sorted(s.inputs["standardsArn"] for s in plan.by_type(ACCOUNT_TYPES[4]))
    assert arns == [
        "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0",
        "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0",
    ]
    inspector = _one(plan, "aws:inspector2/enabler:Enabler")
    assert inspector.inputs == {"accountIds": ["123456789012"], "resourceTypes": ["ECR", "EC2"]}


def test_findings_are_routed_to_the_alert_topics_by_severity(plan_of) -> None:
    plan = plan_of("prod")
    topics = {name: f"arn:aws:sns:us-east-1:123456789012:{name}" for name in
              (t.inputs["name"] for t in plan.by_type("aws:sns/topic:Topic"))}  # fmt: skip
    rules = {r.inputs.get("name"): r.inputs for r in plan.by_type("aws:cloudwatch/eventRule:EventRule")}
    targets = {t.inputs.get("rule"): t.inputs["arn"] for t in plan.by_type("aws:cloudwatch/eventTarget:EventTarget")}
    high = json.loads(rules["ai-platform-prod-guardduty-high"]["eventPattern"])
    assert high["detail"] == {"severity": [{"numeric": [">=", 7]}]}
    medium = json.loads(rules["ai-platform-prod-guardduty-medium"]["eventPattern"])
    assert medium["detail"] == {"severity": [{"numeric": [">=", 4, "<", 7]}]}
    hub = json.loads(rules["ai-platform-prod-securityhub-critical"]["eventPattern"])
    assert hub["detail"]["findings"]["Severity"] == {"Label": ["CRITICAL"]}
    assert hub["detail"]["findings"]["ProductName"] == [{"anything-but": "GuardDuty"}]
    assert targets["ai-platform-prod-guardduty-high"] == topics["ai-platform-prod-alerts-critical"]
    assert targets["ai-platform-prod-securityhub-critical"] == topics["ai-platform-prod-alerts-critical"]
    assert targets["ai-platform-prod-guardduty-medium"] == topics["ai-platform-prod-alerts-warning"]
    assert targets["ai-platform-prod-securityhub-high"] == topics["ai-platform-prod-alerts-warning"]
    assert {f"ai-platform-prod-{key}" for key in FINDING_ROUTES} <= set(targets)


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_a_stack_sharing_the_account_declares_no_account_singleton(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    assert [r.type for r in plan.resources if r.type in ACCOUNT_TYPES] == []
    assert not [k for k in plan.by_type("aws:kms/key:Key") if k.name.endswith("-audit-key")]
    assert plan.outputs["audit_trail_arn"] is None
    assert plan.outputs["guardduty_detector_id"] is None


def test_a_dev_account_of_its_own_owns_them_in_governance_mode(plan_of) -> None:
    plan = plan_of("dev", OWNED)
    assert len(plan.by_type("aws:guardduty/detector:Detector")) == 1
    [lock] = [r for r in plan.by_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
              if r.name == "dev-audit-bucket-object-lock"]  # fmt: skip
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 30}
    assert plan.outputs["audit_trail_arn"]
    mandatory = [v for v in evaluate(plan, "dev").violations if v.enforcement == "mandatory"]
    assert mandatory == []


def test_the_shipped_owner_passes_the_security_rules(plan_of) -> None:
    security_rules = ("cloudtrail-", "guardduty-", "securityhub-", "backup-stateful-covered", "iam-catalog-valid")
    found = [v for v in evaluate(plan_of("prod"), "prod").violations if v.rule.startswith(security_rules)]
    assert found == []


def test_minimal_configuration_turns_optional_plans_off(plan_of) -> None:
    plan = plan_of(
        "prod",
        {"ai-platform:security": {"guardduty": {"runtime_monitoring": False, "malware_protection": False},
                                  "security_hub": {"standards": ["aws-foundational-security-best-practices"]},
                                  "inspector": {"resource_types": ["ECR"]},
                                  "cloudtrail": {"s3_data_events": False}}},
    )  # fmt: skip
    names = sorted(f.inputs["name"] for f in plan.by_type("aws:guardduty/detectorFeature:DetectorFeature"))
    assert names == ["EKS_AUDIT_LOGS", "RDS_LOGIN_EVENTS", "S3_DATA_EVENTS"]
    assert len(plan.by_type("aws:securityhub/standardsSubscription:StandardsSubscription")) == 1
    [management] = _one(plan, "aws:cloudtrail/trail:Trail").inputs["advancedEventSelectors"]
    assert management["name"] == "management-events", "no data events: management events only"
    assert len(event_selectors([])) == 1
    # The gate holds the line: a prod detector without runtime monitoring or malware scans is a violation.
    rules = {v.rule for v in evaluate(plan, "prod").violations}
    assert {"guardduty-enabled", "securityhub-standards"} <= rules


def test_standards_arns_are_regional_and_partition_aware() -> None:
    ctx = AwsContext(account_id="123456789012", partition="aws-us-gov", region="us-gov-west-1")
    assert standards_arn("cis-aws-foundations-benchmark", ctx) == (
        "arn:aws-us-gov:securityhub:us-gov-west-1::standards/cis-aws-foundations-benchmark/v/3.0.0"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ai-platform:security": {"cloudtrail": {"object_lock_days": 400, "expiration_days": 365}}},
         "ai-platform:security.cloudtrail.expiration_days: 365 days would expire log files still locked for 400"),
        ({"ai-platform:security": {"cloudtrail": {"object_lock_mode": "LEGAL_HOLD"}}},
         "ai-platform:security.cloudtrail.object_lock_mode"),
        ({"ai-platform:security": {"security_hub": {"standards": ["pci-dss"]}}},
         "ai-platform:security.security_hub.standards"),
        ({"ai-platform:security": {"guardduty": {"finding_publishing_frequency": "HOURLY"}}},
         "ai-platform:security.guardduty.finding_publishing_frequency"),
        ({"ai-platform:observability": {"enabled": False}},
         "ai-platform:security.manage_account_security: the account's findings are routed to the alert topics"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key_and_the_stack_file(overrides, message) -> None:
    with pytest.raises(StackConfigError) as error:
        stack_config("prod", overrides)
    assert "Pulumi.prod.yaml" in str(error.value)
    assert message in str(error.value)
