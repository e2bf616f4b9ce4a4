"""Field types and parsers shared by the sections: the `Section` base, regions, tags, log retention, RDS windows
and Kubernetes quantities."""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from config.errors import FieldError

PROJECT = "ai-platform"
Environment = Literal["dev", "staging", "prod"]

# Every AWS region name (commercial, GovCloud, China) as of 2026-11; a typo here is caught before any API call.
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
        "ca-central-1", "ca-west-1", "mx-central-1", "sa-east-1",
        "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "eu-south-1", "eu-south-2", "eu-north-1",
        "il-central-1", "me-south-1", "me-central-1", "af-south-1",
        "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1",
    }
)  # fmt: skip

# The retention values CloudWatch Logs accepts (PutRetentionPolicy); anything else fails at deploy time.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Tags the platform sets itself on every taggable resource; a stack may not override them.
MANDATORY_TAG_KEYS: tuple[str, ...] = ("project", "stack", "environment", "component", "managed-by")
# Tags every stack must supply (cost allocation and ownership).
REQUIRED_USER_TAG_KEYS: tuple[str, ...] = ("owner", "cost-center")


def _check_log_retention(days: int) -> int:
    """Allowed: a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
    1827, 2192, 2557, 2922, 3288 or 3653."""
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ValueError(f"{days} is not a CloudWatch Logs retention; allowed: {allowed}")
    return days


LogRetentionDays = Annotated[int, AfterValidator(_check_log_retention)]


class Section(BaseModel):
    """Base of every config section: immutable, unknown keys are errors (a typo never goes unnoticed), numbers are
    finite, and a list never names the same thing twice (each entry becomes a resource or a rule keyed by it, and
    two with one key would collide)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _distinct_entries(self) -> Section:
        for name, field in type(self).model_fields.items():
            if not _is_open_list(field.annotation):
                continue
            values = getattr(self, name) or ()
            repeated = [v for i, v in enumerate(values) if v in values[:i]]
            if repeated:
                shown = ", ".join(dict.fromkeys(_entry_text(v) for v in repeated))
                raise FieldError(name, f"{shown} listed more than once; allowed: each entry once")
        return self


def _is_open_list(annotation: object) -> bool:
    """`tuple[X, ...]` (or `tuple[X, ...] | None`): a list of any length, as opposed to a fixed-size tuple."""
    for candidate in (annotation, *get_args(annotation)):
        if get_origin(candidate) is tuple and get_args(candidate)[-1:] == (Ellipsis,):
            return True
    return False


def _entry_text(value: object) -> str:
    if isinstance(value, BaseModel):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.model_dump().items()) + "}"
    return str(value)


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to: aws, aws-us-gov or aws-cn."""
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


def check_region(region: str) -> str:
    """Allowed: an AWS region name, e.g. us-east-1."""
    if region not in AWS_REGIONS:
        raise ValueError(f"{region!r} is not an AWS region; allowed: {', '.join(sorted(AWS_REGIONS))}")
    return region


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    """Allowed: map that sets owner and cost-center; keys 1-128 chars not starting with aws:, values <= 256 chars;
    not project, stack, environment, component or managed-by (the platform sets those)."""
    missing = [k for k in REQUIRED_USER_TAG_KEYS if not tags.get(k)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}; allowed: a map that sets {', '.join(REQUIRED_USER_TAG_KEYS)}")
    reserved = sorted(set(tags) & set(MANDATORY_TAG_KEYS))
    if reserved:
        raise ValueError(f"{', '.join(reserved)} are set by the platform; allowed: any other key")
    for key, value in tags.items():
        if key.lower().startswith("aws:") or not 1 <= len(key) <= 128 or len(value) > 256:
            raise ValueError(
                f"tag {key!r} is invalid; allowed: keys of 1-128 chars not starting with aws:, values <= 256 chars"
            )
    return tags


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES, WEEK_MINUTES = 24 * 60, 7 * 24 * 60


def _hhmm(text: str) -> int:
    match = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", text)
    if match is None:
        raise ValueError(f"{text!r} is not a UTC time; allowed: hh:mm from 00:00 to 23:59")
    return int(match[1]) * 60 + int(match[2])


def _window_minutes(start: int, end: int, period: int) -> set[int]:
    """The minutes (mod `period`) a window covers; a window may wrap past midnight / the end of the week."""
    length = (end - start) % period
    return {(start + m) % period for m in range(length)}


def parse_backup_window(text: str) -> set[int]:
    """`hh:mm-hh:mm` (UTC, at least 30 minutes) -> the minutes of every day of the week it covers."""
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a daily window; allowed: hh:mm-hh:mm in UTC, e.g. 03:00-04:00")
    start, end = _hhmm(parts[0]), _hhmm(parts[1])
    daily = _window_minutes(start, end, DAY_MINUTES)
    if len(daily) < 30:
        raise ValueError(f"{text} lasts {len(daily)} minutes; allowed: at least 30 minutes (RDS rule)")
    return {day * DAY_MINUTES + m for day in range(7) for m in daily}


def parse_time_of_day(text: str) -> int:
    """`hh:mm` (UTC) -> minute of the day."""
    return _hhmm(text) if isinstance(text, str) else _hhmm(str(text))


def parse_time_of_week(text: str) -> int:
    """`ddd:hh:mm` (UTC) -> minute of the week (Monday 00:00 is 0)."""
    day, _, clock = str(text).partition(":")
    if day not in WEEKDAYS:
        raise ValueError(
            f"{text!r} does not start with a weekday; allowed: ddd:hh:mm, ddd one of {', '.join(WEEKDAYS)}"
        )
    return WEEKDAYS.index(day) * DAY_MINUTES + _hhmm(clock)


def _check_time_of_day(text: str) -> str:
    """Allowed: hh:mm in UTC, e.g. 05:00."""
    parse_time_of_day(text)
    return text


def _check_time_of_week(text: str) -> str:
    """Allowed: ddd:hh:mm in UTC, e.g. sun:06:00."""
    parse_time_of_week(text)
    return text


TimeOfDay = Annotated[str, AfterValidator(_check_time_of_day)]
TimeOfWeek = Annotated[str, AfterValidator(_check_time_of_week)]


def minutes_from(start: int, length: int, *, every_day: bool) -> set[int]:
    """Minutes of the week covered by `length` minutes from `start` (minute of the day when `every_day`, else of
    the week)."""
    starts = [day * DAY_MINUTES + start for day in range(7)] if every_day else [start]
    return {(s + m) % WEEK_MINUTES for s in starts for m in range(length)}


def describe_minute_of_week(minute: int) -> str:
    """Minute of the week -> `ddd hh:mm`."""
    day, rest = divmod(minute % WEEK_MINUTES, DAY_MINUTES)
    return f"{WEEKDAYS[day]} {rest // 60:02d}:{rest % 60:02d}"


def parse_maintenance_window(text: str) -> set[int]:
    """`ddd:hh:mm-ddd:hh:mm` (UTC, at least 30 minutes) -> the minutes of the week it covers."""
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise ValueError(
            f"{text!r} is not a weekly window; allowed: ddd:hh:mm-ddd:hh:mm in UTC, e.g. sun:05:00-sun:06:00"
        )
    bounds = []
    for part in parts:
        day, _, clock = part.partition(":")
        if day not in WEEKDAYS:
            raise ValueError(f"{part!r} does not start with a weekday; allowed: {', '.join(WEEKDAYS)}")
        bounds.append(WEEKDAYS.index(day) * DAY_MINUTES + _hhmm(clock))
    minutes = _window_minutes(bounds[0], bounds[1], WEEK_MINUTES)
    if len(minutes) < 30:
        raise ValueError(f"{text} lasts {len(minutes)} minutes; allowed: at least 30 minutes (RDS rule)")
    return minutes


_CPU_UNITS = {"": 1000.0, "m": 1.0}
_MEMORY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
                 "Ti": 2**40}  # fmt: skip


def cpu_millicores(quantity: str) -> float:
    """A Kubernetes CPU quantity (`250m`, `0.5`, `2`) in millicores; ValueError when it is not one."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(m?)", quantity) if isinstance(quantity, str) else None
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"{quantity!r} is not a CPU quantity; allowed: millicores like 250m or cores like 0.5, > 0")
    return float(match[1]) * _CPU_UNITS[match[2]]


def memory_bytes(quantity: str) -> float:
    """A Kubernetes memory quantity (`512Mi`, `1Gi`, `1G`) in bytes; ValueError when it is not one."""
    pattern = r"([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?"
    match = re.fullmatch(pattern, quantity) if isinstance(quantity, str) else None
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"{quantity!r} is not a memory quantity; allowed: e.g. 512Mi, 1Gi, 1G (> 0)")
    return float(match[1]) * _MEMORY_UNITS[match[2] or ""]


def _check_cpu(quantity: str) -> str:
    """Allowed: a CPU quantity: millicores like 250m or cores like 0.5."""
    cpu_millicores(quantity)
    return quantity


def _check_memory(quantity: str) -> str:
    """Allowed: a memory quantity, e.g. 512Mi, 1Gi or 1G."""
    memory_bytes(quantity)
    return quantity


def _check_int_or_percent(value: int | str) -> int | str:
    """Allowed: an integer >= 0 or a percentage 0%-100%."""
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"(100|[1-9]?[0-9])%", value):
        return value
    raise ValueError(f"{value!r} is not a count or a percentage; allowed: an integer >= 0 or 0%-100%")


CpuQuantity = Annotated[str, AfterValidator(_check_cpu)]
MemoryQuantity = Annotated[str, AfterValidator(_check_memory)]
IntOrPercent = Annotated[int | str, AfterValidator(_check_int_or_percent)]
