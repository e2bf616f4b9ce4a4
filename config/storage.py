"""`ai-platform:storage`: lifecycle and Object Lock of the S3 buckets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.errors import FieldError
from config.types import Section


class StorageConfig(Section):
    """`ai-platform:storage`: the S3 buckets (models, data, logs, exports) and their lifecycle."""

    infrequent_access_after_days: int = Field(
        30, ge=30, le=3650, description="Days before current objects move to STANDARD_IA (S3 minimum 30)."
    )
    glacier_ir_after_days: int = Field(
        90, ge=60, le=3650, description="Days before current objects move to GLACIER_IR (>= IA + 30, S3 rule)."
    )
    noncurrent_version_expiration_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="Days a superseded object version is kept before it expires (>= exports_object_lock_days with "
        "Object Lock).",
    )
    noncurrent_versions_to_keep: int = Field(
        3, ge=0, le=100, description="Newest superseded versions kept regardless of age."
    )
    abort_incomplete_multipart_days: int = Field(
        7, ge=1, le=365, description="Days before an unfinished multipart upload is aborted (its parts deleted)."
    )
    logs_expiration_days: int = Field(365, ge=1, le=3650, description="Days access logs are kept in the logs bucket.")
    exports_object_lock: bool = Field(
        True, description="Object Lock (WORM) on the database-exports bucket; can only be set when it is created."
    )
    exports_object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(
        "GOVERNANCE",
        description="Default Object Lock mode of the exports bucket: GOVERNANCE (removable by a principal with "
        "s3:BypassGovernanceRetention, e.g. for a data-erasure request) or COMPLIANCE (by nobody).",
    )
    exports_object_lock_days: int = Field(
        35, ge=1, le=36500, description="Default Object Lock retention of new export objects (days)."
    )
    protect: bool = Field(True, description="Pulumi `protect` and `retainOnDelete` on the buckets (no accidents).")

    @model_validator(mode="after")
    def _check(self) -> StorageConfig:
        if self.glacier_ir_after_days < self.infrequent_access_after_days + 30:
            raise FieldError(
                "glacier_ir_after_days",
                f"{self.glacier_ir_after_days} days is less than 30 days after the STANDARD_IA transition "
                f"({self.infrequent_access_after_days}); allowed: >= {self.infrequent_access_after_days + 30}",
            )
        if self.exports_object_lock and self.noncurrent_version_expiration_days < self.exports_object_lock_days:
            raise FieldError(
                "noncurrent_version_expiration_days",
                f"{self.noncurrent_version_expiration_days} days expires versions still locked for "
                f"{self.exports_object_lock_days} days; allowed: >= exports_object_lock_days",
            )
        return self
