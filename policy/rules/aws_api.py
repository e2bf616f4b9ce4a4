"""AWS API rules: every AWS input is a value the AWS API accepts when `pulumi up` creates the resource.

The mock engine accepts anything; AWS refuses, at create time, e.g. an apostrophe in a security-group description
or a parenthesis in a WAF description, and `pulumi up` stops half-way. One rule per AWS service checks each input
the mapping table (`aws_api_table.MAPPING`) names against botocore's service model (the JSON the AWS SDKs are
generated from): a string's length (`min`/`max`), `pattern` and `enum`, a number's `min`/`max`; plus the row's
`Documented` constraint where the model is silent.

Model patterns are Java regexes that AWS matches against the whole value: `java_regex` translates them (Java's
`\\w`, `\\d`, `\\s` are ASCII; `\\p{..}` classes become explicit ranges) and values are `re.fullmatch`ed. A name the
provider generates is checked at its generated length: Pulumi autonaming (property unset) appends "-" and 7 random
hex characters to the logical name (read from the URN); a `*Prefix` input gets a 26-character unique suffix. A value
unknown during preview skips that input only (`pulumi up` checks again with the real value). Each service model is
loaded once per process.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from pulumi_policy.proxy import UnknownValueError

from .aws_api_documented import Documented
from .aws_api_table import MAPPING, ApiField
from .core import HIGH, MANDATORY, REGISTRY, Rule, items

AUTONAME_SUFFIX = "-a1b2c3d"  # Pulumi autonaming: "-" + 7 random hex characters after the logical name
PREFIX_SUFFIX = "0" * 26  # the provider's unique suffix after a `namePrefix`-style input
SHOWN_CHARS = 60  # longer values are shortened in messages

# The logical name of the resource being evaluated (autonaming needs it; a check only receives props).
_LOGICAL_NAME: ContextVar[str | None] = ContextVar("aws_api_logical_name", default=None)


@dataclass(frozen=True)
class ModelConstraint:
    """What the botocore model says about one input member."""

    shape: str
    type_name: str
    low: float | None
    high: float | None
    pattern: str | None
    regex: re.Pattern[str] | None
    enum: tuple[str, ...]


# --- botocore models, loaded once per process --------------------------------------------------------------------


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(service: str) -> Any:
    """botocore's model of `service` (e.g. "ec2"), loaded once per process."""
    return _session().get_service_model(service)


@cache
def model_constraint(service: str, operation: str, member: str) -> ModelConstraint:
    """The constraints of `member` (a path such as `IpPermissions[].IpRanges[].Description`) of `operation`'s input;
    raises KeyError/ValueError when the path does not exist in the model (a typo in the table)."""
    shape = service_model(service).operation_model(operation).input_shape
    for part in member.split("."):
        name = part.removesuffix("[]")
        if name not in shape.members:
            raise KeyError(f"{service} {operation}: {member}: no member {name!r} in shape {shape.name}")
        shape = shape.members[name]
        if part.endswith("[]"):
            if shape.type_name != "list":
                raise ValueError(f"{service} {operation}: {member}: {name} is a {shape.type_name}, not a list")
            shape = shape.member
    meta = shape.metadata
    pattern = meta.get("pattern")
    enum = tuple(getattr(shape, "enum", None) or ())
    return ModelConstraint(
        shape.name, shape.type_name, meta.get("min"), meta.get("max"), pattern, java_regex(pattern), enum
    )


# --- Java regexes ------------------------------------------------------------------------------------------------

_ASCII_CLASSES = {"w": "a-zA-Z0-9_", "d": "0-9", "s": " \\t\\n\\x0b\\f\\r"}


@cache
def _category_ranges(category: str) -> str:
    """The code points of Unicode general category `category` ("L", "Lu", "N", ...) as a character-class body."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)).startswith(category):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    if not ranges:
        raise ValueError(f"unknown Unicode category \\p{{{category}}}")
    return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


@cache
def java_regex(pattern: str | None) -> re.Pattern[str] | None:
    """Compile a botocore (Java) pattern for Python: `\\w`, `\\d`, `\\s` (and negations) as their ASCII classes,
    `\\p{X}`/`\\P{X}` as explicit Unicode ranges; everything else means the same in both."""
    if pattern is None:
        return None
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        follow = pattern[i + 1] if i + 1 < len(pattern) else ""
        if char == "\\" and follow.lower() in _ASCII_CLASSES:
            body = _ASCII_CLASSES[follow.lower()]
            if follow.isupper() and in_class:
                raise ValueError(f"cannot translate \\{follow} inside a character class: {pattern}")
            out.append(body if in_class else f"[{'^' if follow.isupper() else ''}{body}]")
            i += 2
        elif char == "\\" and follow in "pP" and pattern[i + 2 : i + 3] == "{":
            end = pattern.index("}", i)
            body = _category_ranges(pattern[i + 3 : end].removeprefix("Is"))
            if follow == "P" and in_class:
                raise ValueError(f"cannot translate \\P{{..}} inside a character class: {pattern}")
            out.append(body if in_class else f"[{'^' if follow == 'P' else ''}{body}]")
            i = end + 1
        elif char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
        else:
            if char == "[" and not in_class:
                in_class = True
            elif char == "]" and in_class:
                in_class = False
            elif char == "&" and follow == "&" and in_class:
                raise ValueError(f"cannot translate class intersection (&&): {pattern}")
            out.append(char)
            i += 1
    return re.compile("".join(out))


_CLASS = re.compile(r"\[(?:\\.|[^\]\\])*\]")


def _refused_chars(value: str, regex: re.Pattern[str]) -> str:
    """The characters of `value` that no character class of the pattern admits, when the pattern is built only from
    classes, anchors, groups and quantifiers (otherwise "": which characters are refused is not that simple)."""
    classes = _CLASS.findall(regex.pattern)
    rest = re.sub(r"\{\d+(,\d*)?\}", "", _CLASS.sub("", regex.pattern))
    if not classes or rest.strip("^$()|+*?"):
        return ""
    admitted = [re.compile(c) for c in classes]
    return "".join(sorted({c for c in value if not any(a.fullmatch(c) for a in admitted)}))


# --- checking one value ------------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 4] + "...'"


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _num(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _out_of_range(size: float, low: float | None, high: float | None) -> str | None:
    """The allowed range in words when `size` is outside [low, high], else None."""
    if (low is None or size >= low) and (high is None or size <= high):
        return None
    if low is not None and high is not None:
        return f"{_num(low)} to {_num(high)}"
    return f"at least {_num(low)}" if low is not None else f"at most {_num(high)}"  # type: ignore[arg-type]


def model_problems(value: Any, constraint: ModelConstraint) -> Iterator[str]:
    """Why the model refuses `value` (nothing for structures, maps and lists: only their members are checked)."""
    if constraint.type_name == "string":
        text = value if isinstance(value, str) else str(value)
        if bounds := _out_of_range(len(text), constraint.low, constraint.high):
            yield f"length {len(text)}; allowed {bounds}"
        if constraint.enum and text not in constraint.enum:
            yield f"not one of {', '.join(constraint.enum)}"
        if constraint.regex is not None and not constraint.regex.fullmatch(text):
            refused = _refused_chars(text, constraint.regex)
            yield (f"characters the API refuses: {refused!r}; " if refused else "") + (
                f"must match {constraint.pattern}"
            )
    elif constraint.type_name in ("integer", "long", "double", "float") and (
        bounds := _out_of_range(_number(value), constraint.low, constraint.high)
    ):
        yield f"out of range; allowed {bounds}"


def documented_problems(value: Any, documented: Documented) -> Iterator[str]:
    """Why the documented constraint refuses `value`."""
    problems: list[str] = []
    if documented.values and value not in documented.values:
        problems.append("not an accepted value")
    if documented.low is not None or documented.high is not None:
        size = len(value) if isinstance(value, str) else _number(value)
        if _out_of_range(size, documented.low, documented.high):
            problems.append(f"length {size} out of range" if isinstance(value, str) else "out of range")
    if documented.charset is not None and (refused := "".join(sorted(set(str(value)) - set(documented.charset)))):
        problems.append(f"characters the API refuses: {refused!r}")
    if documented.pattern is not None and not re.fullmatch(documented.pattern, str(value)):
        problems.append("does not have the documented form")
    if documented.check is not None and not documented.check(value):
        problems.append("does not have the documented form")
    for problem in dict.fromkeys(problems):  # de-duplicated, in order
        yield f"{problem}; allowed: {documented.rule} ({documented.url})"


# --- walking the inputs ------------------------------------------------------------------------------------------


def values_at(props: Mapping[str, Any], path: str) -> Iterator[tuple[str, Any]]:
    """(concrete path, value) for every value at `path` (`[]` iterates a list); absent and null values are skipped,
    an unknown one raises UnknownValueError."""

    def walk(current: Any, parts: list[str], shown: str) -> Iterator[tuple[str, Any]]:
        if not parts:
            if current is not None:
                yield shown, current
            return
        part, rest = parts[0], parts[1:]
        name = part.removesuffix("[]")
        if not isinstance(current, Mapping) or name not in current:
            return
        value = current[name]
        where = f"{shown}.{name}" if shown else name
        if part.endswith("[]"):
            for index, item in enumerate(items(value)):
                yield from walk(item, rest, f"{where}[{index}]")
        elif value is not None:
            yield from walk(value, rest, where)

    yield from walk(props, path.split("."), "")


def _generated_value(row: ApiField, props: Mapping[str, Any]) -> Iterator[tuple[str, Any, str]]:
    """(path, value, note) for the value the API will receive for this row."""
    if row.generated == "autoname":
        logical = _LOGICAL_NAME.get()
        given = list(values_at(props, row.prop)) + list(values_at(props, f"{row.prop}Prefix"))
        if not given and logical:
            note = f" (not set: the provider generates logical name + '-' + 7 random hex, {len(logical) + 8} chars)"
            yield row.prop, logical + AUTONAME_SUFFIX, note
            return
    for path, value in values_at(props, row.prop):
        if row.generated == "prefix":
            note = f" (+ the provider's 26-character suffix: {len(str(value)) + 26} chars)"
            yield path, f"{value}{PREFIX_SUFFIX}", note
        else:
            yield path, value, ""


def row_problems(row: ApiField, props: Mapping[str, Any]) -> list[str]:
    """Messages for one mapping row of one resource; raises UnknownValueError when the value is not known yet."""
    constraint = model_constraint(row.service, row.operation, row.member)
    messages = []
    for path, value, note in _generated_value(row, props):
        found = list(model_problems(value, constraint))
        if row.documented is not None:
            found += documented_problems(value, row.documented)
        where = f"{row.service} {row.operation} {row.member}"
        messages += [f"{path} {_shown(value)}{note}: {problem} [{where}]" for problem in found]
    return messages


def check_inputs(resource_type: str, props: Mapping[str, Any], _config: Mapping[str, Any]) -> Iterable[str]:
    """Every mapped input of the resource against the API's constraints; an unknown input skips that row only."""
    for row in MAPPING.get(resource_type, ()):
        try:
            yield from row_problems(row, props)
        except UnknownValueError:
            continue


# --- the rules: one per service ----------------------------------------------------------------------------------


def logical_name(urn: str | None) -> str | None:
    """The resource name of a URN (`urn:pulumi:<stack>::<project>::<type chain>::<name>`; names may hold `::`)."""
    parts = (urn or "").split("::", 3)
    return parts[3] if len(parts) == 4 else None


@dataclass(frozen=True)
class ApiRule(Rule):
    """A resource rule whose check can read the evaluated resource's logical name (for autonamed inputs)."""

    def evaluate_resource(
        self,
        resource_type: str,
        props: Mapping[str, Any],
        config: Mapping[str, Any] | None = None,
        urn: str | None = None,
    ) -> list[str]:
        token = _LOGICAL_NAME.set(logical_name(urn))
        try:
            return super().evaluate_resource(resource_type, props, config, urn)
        finally:
            _LOGICAL_NAME.reset(token)


SERVICE_TITLES = {
    "backup": "AWS Backup", "cloudwatch": "CloudWatch", "dynamodb": "DynamoDB", "ec2": "EC2", "ecr": "ECR",
    "eks": "EKS", "events": "EventBridge", "iam": "IAM", "kms": "KMS", "lambda": "Lambda", "logs": "CloudWatch Logs",
    "rds": "RDS", "s3": "S3",
    "secretsmanager": "Secrets Manager",
    "sns": "SNS", "sqs": "SQS", "ssm": "SSM Parameter Store", "wafv2": "WAFv2",
}  # fmt: skip


def _service_of(rows: tuple[ApiField, ...]) -> str:
    """The service a type's rows belong to (the first row's; a type maps to one service)."""
    return rows[0].service


def _declare(service: str) -> Rule:
    types = tuple(sorted(t for t, rows in MAPPING.items() if _service_of(rows) == service))
    urls = sorted({r.documented.url for t in types for r in MAPPING[t] if r.documented is not None})
    title = SERVICE_TITLES[service]
    rule = ApiRule(
        id=f"aws-api-{service}",
        kind="resource",
        area="aws-api",
        types=types,
        description=(
            f"{title} inputs are values the {title} API accepts (botocore model lengths, patterns, enums and "
            "ranges, plus documented limits), so `pulumi up` does not fail at create time."
        ),
        severity=HIGH,
        enforcement=MANDATORY,
        remediation=(
            "Change the value to one the API accepts: the message names the input, the constraint and the API "
            "member (service, operation, member path) it is sent as. A generated name is too long: set the name "
            "or shorten the logical name." + (f" Documented constraints: {', '.join(urls)}." if urls else "")
        ),
        controls=(f"AWS {title} API",),
        on_unknown="pass",
        check=check_inputs,
    )
    if any(existing.id == rule.id for existing in REGISTRY):
        raise ValueError(f"duplicate rule id {rule.id}")
    REGISTRY.append(rule)
    return rule


SERVICES: tuple[str, ...] = tuple(sorted({_service_of(rows) for rows in MAPPING.values()}))
API_RULES: dict[str, Rule] = {service: _declare(service) for service in SERVICES}
