"""Audit and threat detection of the account: the CloudTrail trail (`AuditTrail`) and GuardDuty, Security Hub,
Inspector with their finding routes (`ThreatDetection`). Both exist only in the stack that owns the account's
security services (`ai-platform:security.manage_account_security`)."""

from components.security.detection import ThreatDetection, ThreatDetectionArgs
from components.security.names import audit_bucket_arn, trail_arn
from components.security.trail import AuditTrail, AuditTrailArgs

__all__ = ["AuditTrail", "AuditTrailArgs", "ThreatDetection", "ThreatDetectionArgs", "audit_bucket_arn", "trail_arn"]
