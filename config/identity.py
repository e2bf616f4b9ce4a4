"""`ai-platform:identity`: the KMS keys' deletion window."""

from __future__ import annotations

from pydantic import Field

from config.types import Section


class IdentityConfig(Section):
    """`ai-platform:identity`: KMS keys and IAM."""

    kms_deletion_window_days: int = Field(
        30, ge=7, le=30, description="Days a scheduled KMS key deletion waits (7-30); the window to cancel a mistake."
    )
