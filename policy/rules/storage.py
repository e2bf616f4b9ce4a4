"""S3 rules. Most bucket settings live on companion resources (public-access block, encryption, versioning,
policy, logging, lifecycle), so these are stack rules joining each bucket to the companions that depend on it.

A bucket tagged `ai-platform/log-delivery=true` receives S3 server access logs or load-balancer access logs:
those services only write to SSE-S3 (AES256) buckets, so it must use AES256 and is exempt from SSE-KMS and from
access logging of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .core import (
    ADVISORY,
    CRITICAL,
    HIGH,
    LOG_DELIVERY_TAG,
    LOW,
    MEDIUM,
    DocumentError,
    StackIndex,
    as_strings,
    condition_keys,
    dig,
    document,
    is_log_delivery,
    is_set,
    items,
    mapping,
    principals,
    resource_rule,
    stack_rule,
    statements,
    tls_only_findings,
    truthy,
)  # fmt: skip

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")

PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_CANNED_ACLS = {"public-read", "public-read-write", "authenticated-read"}
PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
# Conditions that scope a `Principal: *` statement to this account, organisation, network path or a service source.
SCOPING_CONDITIONS = {
    "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:principalorgid", "aws:principalaccount",
    "aws:sourcevpce", "aws:sourcevpc", "aws:principalarn", "aws:resourceorgid", "aws:sourceorgid",
}  # fmt: skip


@stack_rule(
    id="s3-public-access-block",
    area="storage",
    types=BUCKETS,
    description="Every bucket has a public-access block with all four flags on.",
    severity=CRITICAL,
    remediation=(
        "Declare aws.s3.BucketPublicAccessBlock(bucket=b.id) with block_public_acls, block_public_policy, "
        "ignore_public_acls and restrict_public_buckets all True."
    ),
    controls=(
        "FSBP S3.8",
        "FSBP S3.1",
        "CIS 2.1.4",
        "CKV_AWS_53",
        "CKV_AWS_54",
        "CKV_AWS_55",
        "CKV_AWS_56",
        "CKV2_AWS_6",
    ),
    on_unknown="fail",
)
def s3_public_access_block(
    bucket: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]
) -> Iterable[str]:
    assert bucket is not None
    if any(all(truthy(a.props.get(f)) for f in PAB_FLAGS) for a in index.by_type(ACCOUNT_PUBLIC_ACCESS_BLOCK)):
        return
    blocks = index.dependents(bucket, PUBLIC_ACCESS_BLOCK)
    if not blocks:
        yield f"bucket {bucket.name} has no public-access block"
        return
    off = [f for f in PAB_FLAGS if not truthy(blocks[0].props.get(f))]
    if off:
        yield f"bucket {bucket.name}'s public-access block leaves {', '.join(off)} off"


@stack_rule(
    id="s3-encryption-kms",
    area="storage",
    types=BUCKETS,
    description=(
        f"Buckets use SSE-KMS with a customer key and bucket keys; a {LOG_DELIVERY_TAG} bucket uses SSE-S3 (AES256)."
    ),
    severity=HIGH,
    remediation=(
        "Declare aws.s3.BucketServerSideEncryptionConfiguration(bucket=b.id) with sse_algorithm='aws:kms', "
        "kms_master_key_id=<storage key ARN> and bucket_key_enabled=True (log-delivery buckets: "
        "sse_algorithm='AES256')."
    ),
    controls=("FSBP S3.4", "FSBP S3.17", "CIS 2.1.1", "CKV_AWS_145", "CKV_AWS_19"),
    on_unknown="fail",
)
def s3_encryption_kms(bucket: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert bucket is not None
    configs = index.dependents(bucket, *ENCRYPTION)
    rules = [mapping(r) for c in configs for r in items(c.props.get("rules"))]
    if not rules:
        yield f"bucket {bucket.name} has no server-side encryption configuration"
        return
    rule = rules[0]
    default = mapping(rule.get("applyServerSideEncryptionByDefault"))
    algorithm = default.get("sseAlgorithm")
    if is_log_delivery(bucket.props):
        if algorithm != "AES256":
            yield f"log-delivery bucket {bucket.name} uses {algorithm}; log delivery only writes to AES256 buckets"
        return
    if algorithm not in ("aws:kms", "aws:kms:dsse"):
        yield f"bucket {bucket.name} uses {algorithm or 'no algorithm'}; use aws:kms with the storage key"
    elif not is_set(default, "kmsMasterKeyId"):
        yield f"bucket {bucket.name} uses aws:kms without kmsMasterKeyId (the AWS-managed aws/s3 key)"
    elif not truthy(rule.get("bucketKeyEnabled")):
        yield f"bucket {bucket.name} does not enable bucket keys (every object request calls KMS)"


def _denies_insecure_transport(doc: Mapping[str, Any]) -> bool:
    for statement in statements(doc):
        if statement.get("Effect") != "Deny" or "*" not in principals(statement):
            continue
        actions = as_strings(statement.get("Action"))
        if not ({"s3:*", "*"} & set(actions)):
            continue
        for operator, block in mapping(statement.get("Condition")).items():
            if operator == "Bool" and str(mapping(block).get("aws:SecureTransport")).lower() == "false":
                return True
            if operator == "NumericLessThan" and mapping(block).get("s3:TlsVersion") is not None:
                return True
    return False


@stack_rule(
    id="s3-tls-only",
    area="storage",
    types=BUCKETS,
    description="Every bucket policy denies requests not made over TLS (aws:SecureTransport false).",
    severity=HIGH,
    remediation=(
        "Declare aws.s3.BucketPolicy with a Deny of s3:* for Principal * when Bool aws:SecureTransport is false."
    ),
    controls=("FSBP S3.5", "CIS 2.1.1", "CKV_AWS_70"),
    on_unknown="pass",
)
def s3_tls_only(bucket: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert bucket is not None
    yield from tls_only_findings(bucket, index, BUCKET_POLICY, "bucket", "requests", _denies_insecure_transport)


@stack_rule(
    id="s3-versioning",
    area="storage",
    types=BUCKETS,
    description="Every bucket keeps object versions (an overwrite or delete can be undone).",
    severity=MEDIUM,
    remediation="Declare aws.s3.BucketVersioning(bucket=b.id, versioning_configuration={'status': 'Enabled'}).",
    controls=("FSBP S3.14", "CKV_AWS_21"),
    on_unknown="fail",
)
def s3_versioning(bucket: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert bucket is not None
    configs = index.dependents(bucket, *VERSIONING)
    if truthy(dig(bucket.props, "versioning", "enabled")):
        return
    if not configs or dig(configs[0].props, "versioningConfiguration", "status") != "Enabled":
        yield f"bucket {bucket.name} does not have versioning Enabled"


@resource_rule(
    id="s3-no-public-acl",
    area="storage",
    types=(*BUCKETS, *ACLS),
    description="No bucket ACL grants access to AllUsers or AuthenticatedUsers.",
    severity=CRITICAL,
    remediation="Remove the canned ACL / grant; keep ObjectOwnership=BucketOwnerEnforced so ACLs are disabled.",
    controls=("FSBP S3.2", "FSBP S3.3", "FSBP S3.6", "CKV_AWS_20", "CKV_AWS_57"),
    on_unknown="fail",
)
def s3_no_public_acl(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    acl = props.get("acl")
    if acl in PUBLIC_CANNED_ACLS:
        yield f"canned ACL {acl} makes the bucket public"
    policy = mapping(props.get("accessControlPolicy"))
    grants = items(policy.get("grants")) + items(props.get("grants"))
    for grant in grants:
        uri = dig(grant, "grantee", "uri") or dig(grant, "uri")
        if uri in PUBLIC_GRANTEES:
            yield f"a grant gives {dig(grant, 'permission') or dig(grant, 'permissions')} to {uri.rsplit('/', 1)[-1]}"


@resource_rule(
    id="s3-no-public-policy",
    area="storage",
    types=(BUCKET_POLICY,),
    description=(
        "No bucket policy allows Principal * unless scoped by source account, ARN, organisation or VPC endpoint."
    ),
    severity=CRITICAL,
    remediation=(
        "Name the principals (account roles, service principals) or add an aws:SourceArn / aws:PrincipalOrgID / "
        "aws:SourceVpce condition."
    ),
    controls=("FSBP S3.2", "FSBP S3.3", "CKV_AWS_70"),
    on_unknown="pass",
)
def s3_no_public_policy(_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    try:
        doc = document(props.get("policy"))
    except DocumentError as error:
        yield str(error)
        return
    for statement in statements(doc):
        open_to_all = statement.get("Effect") == "Allow" and "*" in principals(statement)
        if open_to_all and not (condition_keys(statement) & SCOPING_CONDITIONS):
            yield f"statement {statement.get('Sid', '(no Sid)')} allows {as_strings(statement.get('Action'))} to anyone"


@stack_rule(
    id="s3-access-logging",
    area="storage",
    types=BUCKETS,
    description=(
        f"Buckets log server access to a log-delivery bucket ({LOG_DELIVERY_TAG} buckets themselves are exempt)."
    ),
    severity=MEDIUM,
    remediation=(
        "Declare aws.s3.BucketLogging(bucket=b.id, target_bucket=<log-delivery bucket>, target_prefix='<name>/')."
    ),
    controls=("FSBP S3.9", "CIS 3.6", "CKV_AWS_18"),
    on_unknown="pass",
)
def s3_access_logging(bucket: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert bucket is not None
    if is_log_delivery(bucket.props):
        return
    if not any(is_set(c.props, "targetBucket") for c in index.dependents(bucket, *LOGGING)):
        yield f"bucket {bucket.name} has no server access logging"


@stack_rule(
    id="s3-lifecycle",
    area="storage",
    types=BUCKETS,
    description=(
        "Every bucket has an enabled lifecycle rule (expire noncurrent versions, abort incomplete uploads, tier)."
    ),
    severity=LOW,
    remediation="Declare aws.s3.BucketLifecycleConfiguration(bucket=b.id) with at least one rule status='Enabled'.",
    controls=("FSBP S3.13", "CKV2_AWS_61", "CKV_AWS_300"),
    on_unknown="pass",
)
def s3_lifecycle(bucket: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert bucket is not None
    configs = index.dependents(bucket, *LIFECYCLE)
    if not any(dig(rule, "status") == "Enabled" for c in configs for rule in items(c.props.get("rules"))):
        yield f"bucket {bucket.name} has no enabled lifecycle rule (old versions and failed uploads pile up)"


@stack_rule(
    id="s3-acls-disabled",
    area="storage",
    types=BUCKETS,
    description="Bucket ownership is BucketOwnerEnforced (ACLs disabled; access only through policies).",
    severity=LOW,
    enforcement=ADVISORY,
    remediation=(
        "Declare aws.s3.BucketOwnershipControls(bucket=b.id, rule={'object_ownership': 'BucketOwnerEnforced'})."
    ),
    controls=("FSBP S3.12", "CKV2_AWS_65"),
    on_unknown="pass",
)
def s3_acls_disabled(bucket: PolicyResource | None, index: StackIndex, _config: Mapping[str, Any]) -> Iterable[str]:
    assert bucket is not None
    controls = index.dependents(bucket, OWNERSHIP)
    if not any(dig(c.props, "rule", "objectOwnership") == "BucketOwnerEnforced" for c in controls):
        yield f"bucket {bucket.name} still honours ACLs (ownership is not BucketOwnerEnforced)"
