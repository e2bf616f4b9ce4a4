"""`ai-platform:maintenance`: the weekly window in which nodes are replaced, and the notice users get before it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, HttpUrl, model_validator

from config.errors import FieldError
from config.types import (
    DAY_MINUTES,
    WEEK_MINUTES,
    WEEKDAYS,
    Section,
    parse_maintenance_window,
    parse_time_of_week,
)

# Karpenter v1's graceful disruption reasons (NodePool `spec.disruption.budgets[].reasons`).
DisruptionReason = Literal["Drifted", "Underutilized", "Empty"]


def _check_window(text: str) -> str:
    """Allowed: ddd:hh:mm-ddd:hh:mm in UTC, at least 30 minutes, at most 24 hours."""
    minutes = parse_maintenance_window(text)
    if len(minutes) > 24 * 60:
        raise ValueError(f"{text} lasts {len(minutes) // 60} hours; allowed: at most 24 hours")
    return text


class NoticeSubscriber(Section):
    """One subscriber of the maintenance notices: a mailbox or a status-page webhook (HTTPS)."""

    protocol: Literal["email", "https"] = Field(description="email, or https (a status-page or chat webhook).")
    endpoint: str = Field(
        min_length=3, max_length=2048, description="Address or URL (no credentials in it: it is stored in state)."
    )

    @model_validator(mode="after")
    def _check(self) -> NoticeSubscriber:
        if self.protocol == "email" and "@" not in self.endpoint:
            raise FieldError("endpoint", f"{self.endpoint!r} is not an email address; allowed: name@domain")
        if self.protocol == "https":
            try:
                url = HttpUrl(self.endpoint)
            except ValueError:
                url = None
            if url is None or url.scheme != "https" or url.username or url.password:
                raise FieldError(
                    "endpoint", "an https:// URL without user:password; allowed: https://host/path (no credentials)"
                )
        return self


class MaintenanceConfig(Section):
    """`ai-platform:maintenance`: when the platform may replace nodes, and who hears about it beforehand."""

    window: Annotated[str, AfterValidator(_check_window)] | None = Field(
        "wed:09:00-wed:11:00",
        description="Weekly UTC window (ddd:hh:mm-ddd:hh:mm) in which Karpenter may replace nodes for the reasons "
        "in window_reasons and operators apply node-group and add-on upgrades; none: any time (dev). Must not "
        "overlap the database's maintenance and backup windows or the AWS Backup jobs.",
    )
    window_reasons: tuple[DisruptionReason, ...] = Field(
        ("Drifted", "Underutilized"),
        description="Karpenter disruption reasons held to the window (0 nodes outside it); the others (Empty) "
        "run any time. Expiry (`addons.karpenter.expire_after`) is forceful in Karpenter v1 and not held.",
    )
    notice_hours: int = Field(24, ge=1, le=168, description="Hours before the window that the notice goes out.")
    notice_subscribers: tuple[NoticeSubscriber, ...] = Field(
        (), description="Who receives the notice (the topic can also be subscribed to outside the stack)."
    )

    def _bounds(self) -> tuple[int, int]:
        """The window's start and end as minutes of the week (Monday 00:00 is 0)."""
        assert self.window is not None
        start_text, end_text = self.window.split("-")
        return parse_time_of_week(start_text), parse_time_of_week(end_text)

    def closed_period(self) -> tuple[str, str] | None:
        """When nodes may NOT be replaced: from the end of the window for the rest of the week, as a standard
        five-field UTC cron (Karpenter budget `schedule`) and a Go duration (`duration`); none without a window."""
        if self.window is None:
            return None
        start, end = self._bounds()
        closed = WEEK_MINUTES - (end - start) % WEEK_MINUTES
        weekday = (end // DAY_MINUTES + 1) % 7  # Monday is 0 here, 1 in cron (Sunday 0)
        hour, minute = divmod(end % DAY_MINUTES, 60)
        hours, minutes = divmod(closed, 60)
        return f"{minute} {hour} * * {weekday}", f"{hours}h{minutes}m" if minutes else f"{hours}h"

    def notice_schedule(self) -> str | None:
        """EventBridge Scheduler cron (UTC, six fields) firing `notice_hours` before the window opens; none without
        a window."""
        if self.window is None:
            return None
        start, _ = self._bounds()
        day, minute_of_day = divmod((start - self.notice_hours * 60) % WEEK_MINUTES, DAY_MINUTES)
        return f"cron({minute_of_day % 60} {minute_of_day // 60} ? * {WEEKDAYS[day].upper()} *)"

    @model_validator(mode="after")
    def _check(self) -> MaintenanceConfig:
        if self.window is not None and not self.window_reasons:
            raise FieldError("window_reasons", "empty while a window is set; allowed: Drifted, Underutilized, Empty")
        return self
