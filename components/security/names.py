"""Names and ARNs of the account's audit resources, known before anything is declared: the audit key's policy names
the trail, and the logs bucket's policy admits the trail bucket's access logs, both built before the trail."""

from __future__ import annotations

from components.storage import bucket_name
from config import PROJECT
from lib.aws import AwsContext

AUDIT_LOG_TAG = {"ai-platform/audit-log": "true"}


def trail_name(stack: str) -> str:
    """`ai-platform-<stack>-audit`: the account's multi-region trail, owned by one stack."""
    return f"{PROJECT}-{stack}-audit"


def trail_arn(stack: str, aws_ctx: AwsContext) -> str:
    """The trail's ARN (home region: the stack's region)."""
    return aws_ctx.arn("cloudtrail", f"trail/{trail_name(stack)}")


def audit_bucket_name(stack: str, aws_ctx: AwsContext) -> str:
    """`ai-platform-<stack>-audit-<account>-<region>`, like the platform's other buckets."""
    return bucket_name(f"{PROJECT}-{stack}", "audit", aws_ctx)


def audit_bucket_arn(stack: str, aws_ctx: AwsContext) -> str:
    return f"arn:{aws_ctx.partition}:s3:::{audit_bucket_name(stack, aws_ctx)}"
