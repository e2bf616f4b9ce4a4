"""Cases of the audit and detection rules (`policy/rules/security.py`) for tests/test_policy_rules.py: a compliant
input, a violating one with its message, and one holding a value unknown during preview. Merged into `CASES` by
tests/policy_cases.py."""

from __future__ import annotations

from typing import Any

from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE as UB
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as US

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
TRAIL = "aws:cloudtrail/trail:Trail"
BUCKET = "aws:s3/bucket:Bucket"
DETECTOR = "aws:guardduty/detector:Detector"
FEATURE = "aws:guardduty/detectorFeature:DetectorFeature"
HUB = "aws:securityhub/account:Account"
SUBSCRIPTION = "aws:securityhub/standardsSubscription:StandardsSubscription"
MANAGEMENT = {"name": "m", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}
GOOD_TRAIL = {
    "isMultiRegionTrail": True,
    "includeGlobalServiceEvents": True,
    "enableLogFileValidation": True,
    "kmsKeyId": KEY_ARN,
    "cloudWatchLogsGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/cloudtrail/t:*",
    "advancedEventSelectors": [MANAGEMENT],
}
PAB = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}


def res(type_: str, name: str, props: dict[str, Any] | None = None, deps: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": type_, "name": name, "props": props or {}, "deps": deps, "protect": False, "urn": None}


def trail_stack(mode: str | None = "COMPLIANCE", *, trail_bucket: Any = "audit-bucket") -> list[dict[str, Any]]:
    """A trail, its bucket and the bucket's companions (Object Lock in `mode`; None: no lock configuration)."""
    specs = [
        res(BUCKET, "b", {"bucket": "audit-bucket", "objectLockEnabled": True}),
        res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", PAB, deps=("b",)),
        res("aws:s3/bucketLogging:BucketLogging", "log", {"targetBucket": "logs"}, deps=("b",)),
        res(TRAIL, "t", {**GOOD_TRAIL, "s3BucketName": trail_bucket}),
    ]
    if mode is not None:
        rule = {"defaultRetention": {"mode": mode, "days": 365}}
        specs.append(res("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "lock", {"rule": rule},
                         deps=("b",)))  # fmt: skip
    return specs


def detector(features: dict[str, dict[str, Any]], enable: Any = True) -> list[dict[str, Any]]:
    specs = [res(DETECTOR, "d", {"enable": enable})]
    specs += [res(FEATURE, name.lower(), {"name": name, "status": "ENABLED", **extra}, deps=("d",))
              for name, extra in features.items()]  # fmt: skip
    return specs


RUNTIME = {"additionalConfigurations": [{"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}]}
ALL_FEATURES = {"EKS_AUDIT_LOGS": {}, "EKS_RUNTIME_MONITORING": RUNTIME, "RDS_LOGIN_EVENTS": {}, "S3_DATA_EVENTS": {},
                "EBS_MALWARE_PROTECTION": {}}  # fmt: skip
FSBP = "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"
CIS = "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0"

# rule id -> (good, bad, message fragment, unknown[, extra good inputs])
SECURITY_CASES: dict[str, tuple[Any, ...]] = {
    "cloudtrail-multi-region-validated": (
        (TRAIL, GOOD_TRAIL),
        (
            TRAIL,
            {
                **GOOD_TRAIL,
                "isMultiRegionTrail": False,
                "advancedEventSelectors": [
                    {"name": "d", "fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]}]}
                ],
            },
        ),
        "isMultiRegionTrail is not true",
        (TRAIL, {**GOOD_TRAIL, "enableLogFileValidation": UB}),
        # Without selectors CloudTrail records all management events; a RUNTIME_MONITORING-style name is irrelevant.
        ((TRAIL, {k: v for k, v in GOOD_TRAIL.items() if k != "advancedEventSelectors"}),),
    ),
    "cloudtrail-bucket-locked": (
        trail_stack(),
        trail_stack(None),
        "trail bucket b has no Object Lock default retention",
        trail_stack(trail_bucket=US),
        (trail_stack("GOVERNANCE"),),
    ),
    "guardduty-enabled": (
        detector(ALL_FEATURES),
        detector({**ALL_FEATURES, "EKS_RUNTIME_MONITORING": {}}, enable=False),
        "enables EKS_RUNTIME_MONITORING without EKS_ADDON_MANAGEMENT",
        detector(ALL_FEATURES, enable=UB),
        # Runtime Monitoring includes EKS runtime monitoring (the API takes one of the two).
        (
            detector(
                {
                    **{k: v for k, v in ALL_FEATURES.items() if k != "EKS_RUNTIME_MONITORING"},
                    "RUNTIME_MONITORING": RUNTIME,
                }
            ),
        ),
    ),
    "securityhub-standards": (
        [
            res(HUB, "hub"),
            res(SUBSCRIPTION, "fsbp", {"standardsArn": FSBP}),
            res(SUBSCRIPTION, "cis", {"standardsArn": CIS}),
        ],
        [res(HUB, "hub"), res(SUBSCRIPTION, "fsbp", {"standardsArn": FSBP})],
        "does not subscribe the cis-aws-foundations-benchmark standard",
        [res(HUB, "hub"), res(SUBSCRIPTION, "fsbp", {"standardsArn": US})],
    ),
}
