"""Storage: every bucket with all its companions (versioning, encryption, access block, ownership, TLS policy,
lifecycle, logging), the logs bucket's SSE-S3 exception and log-delivery policy, Object Lock in prod, protection."""

from __future__ import annotations

import json

import pytest

from components.storage import BUCKET_KEYS, ELB_LOG_DELIVERY_ACCOUNTS, bucket_name, log_delivery_statements
from config import StackConfigError
from lib.aws import AwsContext
from ops.engine import PROJECT_DIR, Plan, RecordedResource
from tests.conftest import stack_config


@pytest.fixture(scope="session")
def plan_of(primary_plan_of):
    """This module tests the primary site's components: the DR side's second copies are tests/test_dr.py's."""
    return primary_plan_of


STORAGE = "ai-platform:storage:Storage"
COMPANIONS = {
    "versioning": "aws:s3/bucketVersioning:BucketVersioning",
    "encryption": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "public-access-block": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "ownership": "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "policy": "aws:s3/bucketPolicy:BucketPolicy",
    "lifecycle": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "logging": "aws:s3/bucketLogging:BucketLogging",
}


def buckets(plan: Plan) -> dict[str, RecordedResource]:
    """Bucket key (models, data, logs, exports) -> bucket resource."""
    # The Storage component's buckets (the account's CloudTrail bucket, in the stack owning it, is not one of them).
    found = {
        b.inputs["tags"]["purpose"]: b
        for b in plan.by_type("aws:s3/bucket:Bucket")
        if "ai-platform:storage:Storage$" in b.urn
    }
    assert set(found) == set(BUCKET_KEYS)
    return found


def companion(plan: Plan, bucket: RecordedResource, kind: str) -> RecordedResource:
    """The one resource of `kind` configuring `bucket` (matched by bucket name)."""
    matches = [r for r in plan.by_type(COMPANIONS[kind]) if r.inputs.get("bucket") == bucket.inputs["bucket"]]
    assert len(matches) == 1, f"{bucket.inputs['bucket']} has {len(matches)} {kind} resources"
    return matches[0]


def policy_statements(plan: Plan, bucket: RecordedResource) -> list[dict]:
    return json.loads(companion(plan, bucket, "policy").inputs["policy"])["Statement"]


def test_every_bucket_has_all_its_companion_resources(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    for key, bucket in buckets(plan).items():
        assert bucket.inputs["forceDestroy"] is False
        assert companion(plan, bucket, "versioning").inputs["versioningConfiguration"]["status"] == "Enabled"
        block = companion(plan, bucket, "public-access-block").inputs
        assert all(block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                    "restrictPublicBuckets")), key  # fmt: skip
        assert companion(plan, bucket, "ownership").inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        if key == "logs":
            continue  # see test_logs_bucket_does_not_log_into_itself
        logging = companion(plan, bucket, "logging").inputs
        assert logging["targetBucket"] == buckets(plan)["logs"].inputs["bucket"]
        assert logging["targetPrefix"] == f"s3/{key}/"


def test_access_logging_starts_once_the_logs_bucket_admits_log_delivery(plan_of) -> None:
    """The logs bucket has no ACLs: until its policy grants logging.s3 the right to write, nothing is delivered."""
    plan = plan_of("prod")
    logs_policy = companion(plan, buckets(plan)["logs"], "policy")
    for logging in plan.by_type(COMPANIONS["logging"]):
        assert logs_policy.urn in logging.dependencies, logging.name


def test_logs_bucket_does_not_log_into_itself(plan_of, any_stack) -> None:
    """S3: a bucket delivering server access logs to itself loops forever (every delivery is logged, delivered,
    logged again...), growing the bucket and the bill; the log-delivery bucket is exempt from access logging."""
    plan = plan_of(any_stack)
    logs = buckets(plan)["logs"]
    loggings = [r for r in plan.by_type(COMPANIONS["logging"]) if "ai-platform:storage:Storage$" in r.urn]
    assert not [r for r in loggings if r.inputs.get("bucket") == logs.inputs["bucket"]]
    assert len(loggings) == len(buckets(plan)) - 1


def test_data_buckets_use_the_storage_key_with_bucket_keys(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    [storage_key] = [k for k in plan.by_type("aws:kms/key:Key") if k.name.endswith("-storage-key")]
    for key, bucket in buckets(plan).items():
        if key == "logs":
            continue
        [rule] = companion(plan, bucket, "encryption").inputs["rules"]
        default = rule["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms"
        assert default["kmsMasterKeyId"] == f"arn:aws:kms:us-east-1:123456789012:key/{storage_key.name}-key-id"
        assert rule["bucketKeyEnabled"] is True
        assert rule["blockedEncryptionTypes"] == ["SSE-C"]


def test_logs_bucket_is_the_tagged_sse_s3_exception(plan_of) -> None:
    plan = plan_of("prod")
    logs = buckets(plan)["logs"]
    assert logs.inputs["tags"]["ai-platform/log-delivery"] == "true"
    [rule] = companion(plan, logs, "encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    others = [b for k, b in buckets(plan).items() if k != "logs"]
    assert not any("ai-platform/log-delivery" in b.inputs["tags"] for b in others)


def test_every_bucket_denies_plain_http_and_old_tls(plan_of, any_stack) -> None:
    plan = plan_of(any_stack)
    for bucket in buckets(plan).values():
        statements = {s["Sid"]: s for s in policy_statements(plan, bucket)}
        arn = f"arn:aws:s3:::{bucket.inputs['bucket']}"
        deny = statements["DenyInsecureTransport"]
        assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
        assert deny["Resource"] == [arn, f"{arn}/*"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert statements["DenyOutdatedTls"]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
        # Only the logs bucket lets anyone (log delivery services) in.
        allows = [s for s in statements.values() if s["Effect"] == "Allow"]
        assert bool(allows) == (bucket.inputs["tags"]["purpose"] == "logs")


def test_logs_bucket_accepts_s3_and_alb_log_delivery_only_for_this_account(plan_of) -> None:
    plan = plan_of("prod")
    logs = buckets(plan)["logs"]
    arn = f"arn:aws:s3:::{logs.inputs['bucket']}"
    statements = {s["Sid"]: s for s in policy_statements(plan, logs)}
    s3 = statements["S3ServerAccessLogDelivery"]
    assert s3["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert s3["Action"] == "s3:PutObject"
    assert s3["Resource"] == f"{arn}/s3/*"
    assert s3["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    # Its own buckets, and the account's CloudTrail bucket in the stack owning it (prod).
    audit = "arn:aws:s3:::ai-platform-prod-audit-123456789012-us-east-1"
    assert sorted(s3["Condition"]["ArnLike"]["aws:SourceArn"]) == sorted(
        [f"arn:aws:s3:::{b.inputs['bucket']}" for key, b in buckets(plan).items() if key != "logs"] + [audit]
    )
    alb = statements["AlbAccessLogDelivery"]
    # us-east-1 predates August 2022: ELB delivers from its regional account.
    assert alb["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert alb["Resource"] == f"{arn}/alb/AWSLogs/123456789012/*"


def test_newer_regions_get_the_elb_log_delivery_service_principal() -> None:
    ctx = AwsContext(account_id="123456789012", partition="aws", region="ap-southeast-7")
    assert "ap-southeast-7" not in ELB_LOG_DELIVERY_ACCOUNTS
    alb = log_delivery_statements("arn:aws:s3:::logs", [], ctx)[1]
    assert alb["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}


def test_lifecycle_tiers_down_expires_old_versions_and_aborts_uploads(plan_of) -> None:
    plan, config = plan_of("prod"), stack_config("prod").storage
    for key, bucket in buckets(plan).items():
        rules = {r["id"]: r for r in companion(plan, bucket, "lifecycle").inputs["rules"]}
        assert all(r["status"] == "Enabled" for r in rules.values())
        assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {
            "daysAfterInitiation": config.abort_incomplete_multipart_days
        }
        noncurrent = rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]
        assert noncurrent == {"noncurrentDays": 90, "newerNoncurrentVersions": 3}
        transitions = rules["tier-down-current-objects"]["transitions"]
        assert [(t["storageClass"], t["days"]) for t in transitions] == [("STANDARD_IA", 30), ("GLACIER_IR", 90)]
        assert ("expire-access-logs" in rules) == (key == "logs")
    logs_rules = {r["id"]: r for r in companion(plan, buckets(plan)["logs"], "lifecycle").inputs["rules"]}
    assert logs_rules["expire-access-logs"]["expiration"] == {"days": 365}


def test_dev_logs_expire_before_the_glacier_tier_so_that_transition_is_dropped(plan_of) -> None:
    plan = plan_of("dev")
    rules = {r["id"]: r for r in companion(plan, buckets(plan)["logs"], "lifecycle").inputs["rules"]}
    assert rules["expire-access-logs"]["expiration"] == {"days": 90}
    assert [t["storageClass"] for t in rules["tier-down-current-objects"]["transitions"]] == ["STANDARD_IA"]


def test_exports_bucket_has_object_lock_in_prod_only(plan_of) -> None:
    prod, dev = plan_of("prod"), plan_of("dev")
    exports = buckets(prod)["exports"]
    assert exports.inputs["objectLockEnabled"] is True
    [lock] = [r for r in prod.by_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
              if "ai-platform:storage:Storage$" in r.urn]  # fmt: skip
    assert lock.inputs["bucket"] == exports.inputs["bucket"]
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 35}
    assert not dev.by_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert "objectLockEnabled" not in buckets(dev)["exports"].inputs
    assert not any(b.inputs.get("objectLockEnabled") for k, b in buckets(prod).items() if k != "exports")


def test_buckets_are_protected_and_retained_outside_dev(plan_of, any_stack) -> None:
    protected = any_stack != "dev"
    for bucket in buckets(plan_of(any_stack)).values():
        assert (bucket.protect, bucket.retainOnDelete) == (protected, protected)


def test_bucket_names_are_unique_per_account_and_region_and_valid() -> None:
    ctx = AwsContext(account_id="123456789012", partition="aws", region="eu-west-1")
    assert bucket_name("ai-platform-prod", "models", ctx) == "ai-platform-prod-models-123456789012-eu-west-1"
    with pytest.raises(ValueError, match="shorten the stack name"):
        bucket_name("ai-platform-a-very-long-stack-name-indeed", "exports", ctx)


def test_glacier_transition_must_follow_infrequent_access_by_30_days() -> None:
    with pytest.raises(StackConfigError) as error:
        stack_config("prod", {"ai-platform:storage": {"infrequent_access_after_days": 70}})
    assert error.value.problems == [
        "Pulumi.prod.yaml: ai-platform:storage.glacier_ir_after_days: 90 days is less than 30 days after the "
        "STANDARD_IA transition (70); allowed: >= 100"
    ]


def test_versions_may_not_expire_while_object_lock_still_holds_them() -> None:
    with pytest.raises(StackConfigError) as error:
        stack_config("prod", {"ai-platform:storage": {"noncurrent_version_expiration_days": 30}})
    [problem] = error.value.problems
    assert problem.startswith("Pulumi.prod.yaml: ai-platform:storage.noncurrent_version_expiration_days: 30 days")
    assert "allowed: >= exports_object_lock_days" in problem


@pytest.mark.parametrize("section", ["storage", "database", "backup"])
def test_reference_documents_every_data_layer_key_with_its_environment_defaults(section) -> None:
    """Each key of the section is a row of its docs/configuration.md table, whose dev/staging/prod cells are its
    defaults."""
    readme = (PROJECT_DIR / "docs" / "configuration.md").read_text()
    table = readme.split(f"### ai-platform:{section}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[1:4]
    model = type(getattr(stack_config("dev"), section))
    assert set(rows) == set(model.model_fields), "docs/configuration.md table and config model disagree"
    for stack, column in (("dev", 0), ("staging", 1), ("prod", 2)):
        config = getattr(stack_config(stack), section)
        for key, cells in rows.items():
            value = getattr(config, key)
            if isinstance(value, bool):
                assert cells[column] == str(value).lower(), (stack, key)
            elif isinstance(value, int | float) and not isinstance(value, bool) and cells[column] != "same":
                assert cells[column] == f"{value:g}", (stack, key, cells[column])
