"""Audit and detection rules: the CloudTrail trail (multi-region, validated, encrypted, all management events) and
its bucket (locked, not public, access-logged), GuardDuty's detector and protection plans, Security Hub's standards.

A stack that does not own the account's security services declares none of these resources, and these rules have
nothing to judge there: they check the services where a stack owns them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import (
    CRITICAL,
    HIGH,
    Param,
    StackIndex,
    as_strings,
    dig,
    is_set,
    items,
    mapping,
    resource_rule,
    stack_rule,
    truthy,
)
from .storage import BUCKETS, LOGGING, PAB_FLAGS, PUBLIC_ACCESS_BLOCK

TRAIL = "aws:cloudtrail/trail:Trail"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
DETECTOR = "aws:guardduty/detector:Detector"
DETECTOR_FEATURE = "aws:guardduty/detectorFeature:DetectorFeature"
HUB = "aws:securityhub/account:Account"
STANDARDS_SUBSCRIPTION = "aws:securityhub/standardsSubscription:StandardsSubscription"

REQUIRED_FEATURES = [
    "EKS_AUDIT_LOGS",
    "EKS_RUNTIME_MONITORING",
    "RDS_LOGIN_EVENTS",
    "S3_DATA_EVENTS",
    "EBS_MALWARE_PROTECTION",
]
# Runtime Monitoring includes EKS runtime monitoring (the API accepts only one of the two).
EQUIVALENT_FEATURES = {"EKS_RUNTIME_MONITORING": "RUNTIME_MONITORING"}
RUNTIME_FEATURES = ("EKS_RUNTIME_MONITORING", "RUNTIME_MONITORING")
REQUIRED_STANDARDS = ["aws-foundational-security-best-practices", "cis-aws-foundations-benchmark"]


def _management_events_findings(props: Mapping[str, Any]) -> Iterable[str]:
    """Findings unless the trail records every management event, reads and writes (FSBP CloudTrail.1)."""
    advanced = [mapping(s) for s in items(props.get("advancedEventSelectors"))]
    if advanced:
        management = [
            s for s in advanced
            if any(dig(f, "field") == "eventCategory" and "Management" in as_strings(dig(f, "equals"))
                   for f in items(s.get("fieldSelectors")))
        ]  # fmt: skip
        if not management:
            yield "no advanced event selector records management events"
        elif all(any(dig(f, "field") == "readOnly" for f in items(s.get("fieldSelectors"))) for s in management):
            yield "the management-event selector keeps only read or only write events"
    for selector in items(props.get("eventSelectors")):
        if dig(selector, "includeManagementEvents") is False:
            yield "an event selector excludes management events"
        elif dig(selector, "readWriteType", default="All") != "All":
            yield f"an event selector records only {dig(selector, 'readWriteType')} management events"


@resource_rule(
    id="cloudtrail-multi-region-validated",
    area="security",
    types=(TRAIL,),
    description=(
        "The trail records every region and global service events, validates its log files (digest files), "
        "encrypts them with a customer-managed KMS key, records all management events and copies them to "
        "CloudWatch Logs."
    ),
    severity=HIGH,
    remediation=(
        "Set is_multi_region_trail=True, include_global_service_events=True, enable_log_file_validation=True, "
        "kms_key_id=<audit key ARN>, cloud_watch_logs_group_arn/role_arn, and a management-event selector "
        "(eventCategory = Management) without a readOnly filter."
    ),
    controls=(
        "CIS 3.1",
        "CIS 3.2",
        "CIS 3.5",
        "FSBP CloudTrail.1",
        "FSBP CloudTrail.2",
        "FSBP CloudTrail.4",
        "FSBP CloudTrail.5",
        "CKV_AWS_67",
        "CKV_AWS_36",
        "CKV_AWS_35",
        "CKV2_AWS_10",
    ),
    on_unknown="fail",
)
def cloudtrail_multi_region_validated(
    _type: str, props: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterable[str]:
    if not truthy(props.get("isMultiRegionTrail")):
        yield "isMultiRegionTrail is not true: activity in other regions goes unrecorded"
    if props.get("includeGlobalServiceEvents") is False:
        yield "includeGlobalServiceEvents is false: IAM, STS and CloudFront activity goes unrecorded"
    if not truthy(props.get("enableLogFileValidation")):
        yield "enableLogFileValidation is not true: a changed or deleted log file cannot be detected"
    if not is_set(props, "kmsKeyId"):
        yield "kmsKeyId is not set: log files are only encrypted with SSE-S3"
    if not is_set(props, "cloudWatchLogsGroupArn"):
        yield "cloudWatchLogsGroupArn is not set: no CloudWatch Logs copy to search and alarm on"
    if props.get("enableLogging") is False:
        yield "enableLogging is false: the trail records nothing"
    yield from _management_events_findings(props)


def _trail_buckets(trail: PolicyResource, index: StackIndex) -> list[PolicyResource]:
    """The stack's bucket the trail delivers to: the one its `s3BucketName` refers to (a property dependency, or
    the same name), never the buckets its data-event selectors only watch. An unknown name raises (preview)."""
    linked = {d.urn for d in trail.property_dependencies.get("s3BucketName", [])}
    name = trail.props.get("s3BucketName")
    return [b for b in index.by_type(*BUCKETS) if b.urn in linked or (name and b.props.get("bucket") == name)]


@stack_rule(
    id="cloudtrail-bucket-locked",
    area="security",
    types=(TRAIL,),
    description=(
        "The trail's bucket is in the stack, closed to the public (all four public-access-block flags), logs its "
        "access, and has Object Lock with a default retention in an allowed mode (prod: COMPLIANCE)."
    ),
    severity=CRITICAL,
    remediation=(
        "Deliver to a dedicated bucket created with object_lock_enabled=True, with "
        "aws.s3.BucketObjectLockConfiguration(rule={'default_retention': {'mode': ..., 'days': ...}}), a "
        "BucketPublicAccessBlock with all flags on and a BucketLogging to the log-delivery bucket."
    ),
    controls=("CIS 3.4", "FSBP CloudTrail.6", "FSBP CloudTrail.7", "CKV_AWS_18", "CKV_AWS_143"),
    on_unknown="pass",
    params={
        "objectLockModes": Param(
            ["COMPLIANCE", "GOVERNANCE"],
            {"type": "array", "items": {"type": "string"}},
            "Object Lock modes the trail bucket's default retention may use.",
        ),
    },
)
def cloudtrail_bucket_locked(
    trail: PolicyResource | None, index: StackIndex, config: Mapping[str, Any]
) -> Iterable[str]:
    assert trail is not None
    buckets = _trail_buckets(trail, index)
    if not buckets:
        yield f"trail {trail.name} delivers to a bucket outside this stack: its lock and access cannot be verified"
        return
    for bucket in buckets:
        blocks = index.dependents(bucket, PUBLIC_ACCESS_BLOCK)
        if not blocks or not all(truthy(blocks[0].props.get(flag)) for flag in PAB_FLAGS):
            yield f"trail bucket {bucket.name} is not closed by a public-access block with all four flags"
        if not any(is_set(c.props, "targetBucket") for c in index.dependents(bucket, *LOGGING)):
            yield f"trail bucket {bucket.name} has no server access logging"
        if not truthy(bucket.props.get("objectLockEnabled")):
            yield f"trail bucket {bucket.name} was not created with Object Lock"
            continue
        modes = [dig(lock.props, "rule", "defaultRetention", "mode") for lock in index.dependents(bucket, OBJECT_LOCK)]
        if not modes or modes[0] is None:
            yield f"trail bucket {bucket.name} has no Object Lock default retention"
        elif modes[0] not in config["objectLockModes"]:
            allowed = ", ".join(config["objectLockModes"])
            yield f"trail bucket {bucket.name} locks in {modes[0]} mode; allowed: {allowed}"


@stack_rule(
    id="guardduty-enabled",
    area="security",
    types=(DETECTOR,),
    description=(
        "The GuardDuty detector is enabled with the protection plans the platform needs (EKS audit logs, EKS runtime "
        "monitoring with the agent managed by GuardDuty, RDS login activity, S3 data events, malware protection)."
    ),
    severity=HIGH,
    remediation=(
        "Set enable=True and declare aws.guardduty.DetectorFeature(detector_id=d.id, name=..., status='ENABLED') per "
        "plan; runtime monitoring with additional_configurations=[{name: 'EKS_ADDON_MANAGEMENT', status: 'ENABLED'}]."
    ),
    controls=("FSBP GuardDuty.1", "FSBP GuardDuty.5", "FSBP GuardDuty.7", "FSBP GuardDuty.9", "FSBP GuardDuty.10"),
    on_unknown="fail",
    params={
        "requiredFeatures": Param(
            REQUIRED_FEATURES,
            {"type": "array", "items": {"type": "string"}},
            "Detector features that must be ENABLED (EKS_RUNTIME_MONITORING is also met by RUNTIME_MONITORING).",
        ),
    },
)
def guardduty_enabled(detector: PolicyResource | None, index: StackIndex, config: Mapping[str, Any]) -> Iterable[str]:
    assert detector is not None
    if detector.props.get("enable") is False:
        yield f"detector {detector.name} is disabled"
    enabled = {
        str(f.props.get("name")): f
        for f in index.dependents(detector, DETECTOR_FEATURE)
        if f.props.get("status") == "ENABLED"
    }
    for feature in config["requiredFeatures"]:
        if feature not in enabled and EQUIVALENT_FEATURES.get(feature) not in enabled:
            yield f"detector {detector.name} does not enable {feature}"
    for name in RUNTIME_FEATURES:
        if name in enabled:
            extra = {
                dig(c, "name"): dig(c, "status") for c in items(enabled[name].props.get("additionalConfigurations"))
            }
            if extra.get("EKS_ADDON_MANAGEMENT") != "ENABLED":
                yield f"detector {detector.name} enables {name} without EKS_ADDON_MANAGEMENT: no agent on the nodes"


@stack_rule(
    id="securityhub-standards",
    area="security",
    types=(HUB,),
    description="Security Hub checks the account against AWS Foundational Security Best Practices and CIS.",
    severity=HIGH,
    remediation=(
        "Declare aws.securityhub.StandardsSubscription(standards_arn='arn:<partition>:securityhub:<region>::"
        "standards/<standard>/v/<version>') for each required standard, depending on the hub."
    ),
    controls=("FSBP SecurityHub.1", "CIS 4.16"),
    on_unknown="fail",
    params={
        "requiredStandards": Param(
            REQUIRED_STANDARDS,
            {"type": "array", "items": {"type": "string"}},
            "Standards (the name in the standards ARN) that must be subscribed.",
        ),
    },
)
def securityhub_standards(hub: PolicyResource | None, index: StackIndex, config: Mapping[str, Any]) -> Iterable[str]:
    assert hub is not None
    arns = [str(s.props.get("standardsArn")) for s in index.by_type(STANDARDS_SUBSCRIPTION)]
    for standard in config["requiredStandards"]:
        if not any(f"/{standard}/v/" in arn for arn in arns):
            yield f"Security Hub {hub.name} does not subscribe the {standard} standard"
