"""What a config field accepts, in words: one wording for the configuration reference (`python -m ops docs`) and
for the `allowed:` part of every `StackConfigError` line, read from the field's annotation, its validators'
`Allowed:` docstrings and its constraints."""

from __future__ import annotations

import inspect
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

# Field patterns said in words; a pattern not listed here is shown as a regular expression.
PATTERN_WORDS = {
    r"^db\.(serverless|[a-z0-9]+\.[a-z0-9]+)$": "`db.serverless` or a provisioned class such as `db.r7g.large`",
    r"^al2023@(latest|v[0-9]{8})$": "`al2023@latest` or `al2023@vYYYYMMDD`",
    r"^[0-9]+[smh]$": "a whole number of seconds, minutes or hours (`30s`, `5m`, `1h`)",
    r"^[0-9]+h$": "a whole number of hours (`720h`)",
    r"^([0-9]+|[0-9]{1,3}%)$": "a node count or a percentage (`2`, `10%`)",
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$": "1-128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`",
    r"^sha256:[0-9a-f]{64}$": "`sha256:` followed by 64 lowercase hex digits",
    r"^[a-zA-Z_:][a-zA-Z0-9_:]*$": "a Prometheus metric name",
    r"^[A-Za-z0-9._*-]{1,128}$": "a tag pattern of 1-128 letters, digits, `.`, `_`, `-` and `*` wildcards",
    r"^/[A-Za-z0-9_./-]+$": "an absolute path",
}


def unwrap_optional(annotation: Any) -> Any:
    """`X | None` -> X; anything else unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def nested_model(annotation: Any) -> tuple[type[BaseModel] | None, type | None]:
    """(model, None) for a nested section, (model, dict|tuple) for a map or list of sections, else (None, None)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (dict, tuple) and args:
        item = args[-1] if origin is dict else args[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item, origin
    return None, None


def allowed_field(field: FieldInfo) -> str:
    """What `field` accepts: its own `allowed` note, else what its annotation and constraints say."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "allowed" in extra:  # a constraint only the model validator enforces, said by the field itself
        return str(extra["allowed"])
    annotation = unwrap_optional(field.annotation)
    text = allowed(annotation, list(field.metadata))
    return text + (", or unset (`null`)" if annotation is not field.annotation else "")


def allowed(annotation: Any, metadata: list[Any]) -> str:
    """What a type accepts, in words: from its validator's docstring, its type and its constraints."""
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        return allowed(inner, [*extra, *metadata])
    metadata = [m for item in metadata for m in (item.metadata if isinstance(item, FieldInfo) else [item])]
    for item in metadata:
        doc = inspect.getdoc(item.func) if isinstance(item, AfterValidator) else None
        if doc and doc.startswith("Allowed: "):
            return " ".join(doc.removeprefix("Allowed: ").rstrip(".").split())
    origin, args = get_origin(annotation), get_args(annotation)
    bounds = _bounds(metadata)
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(allowed(a, []) for a in args if a is not type(None))
    if origin is tuple:
        return _allowed_list(annotation, args, bounds)
    if origin is dict:
        nested, _ = nested_model(annotation)
        return "map of names to the keys below" if nested else f"map of text to {allowed(args[1], [])}"
    if annotation is bool:
        return "`true` or `false`"
    if annotation in (int, float):
        kind = "integer" if annotation is int else "number"
        return f"{kind} {bounds}".strip()
    if annotation is str:
        pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
        if pattern is None:
            return "text"
        return PATTERN_WORDS.get(pattern, f"text matching `{pattern}`")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "map with the keys " + ", ".join(annotation.model_fields)
    return getattr(annotation, "__name__", str(annotation))


def _allowed_list(annotation: Any, args: tuple[Any, ...], bounds: str) -> str:
    if len(args) > 1 and args[1] is not Ellipsis:
        return f"list of {len(args)} {_plural(allowed(args[0], []))}"
    nested, _ = nested_model(annotation)
    item = allowed(args[0], [])
    if nested:
        text = "list of maps with the keys below"
    elif get_origin(args[0]) is Literal:
        text = "list of any of " + item.removeprefix("one of ")
    elif item in ("text", "integer"):
        text = f"list of {_plural(item)}"
    else:
        text = f"list, each {item}"
    return text + (f" ({bounds} items)" if bounds else "")


def _bounds(metadata: list[Any]) -> str:
    """`1-35`, `>= 0`, `> 0 to 1`... from annotated-types constraints (ge/le/gt/lt/min_length/max_length)."""
    low = next((number(m.ge) for m in metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((number(m.le) for m in metadata if isinstance(m, annotated_types.Le)), None)
    above = next((number(m.gt) for m in metadata if isinstance(m, annotated_types.Gt)), None)
    low = low or next((str(m.min_length) for m in metadata if isinstance(m, annotated_types.MinLen)), None)
    high = high or next((str(m.max_length) for m in metadata if isinstance(m, annotated_types.MaxLen)), None)
    if above is not None:
        return f"> {above}" + (f" and <= {high}" if high else "")
    if low is not None and high is not None:
        return low if low == high else f"{low} to {high}" if low.startswith("-") else f"{low}-{high}"
    return f">= {low}" if low is not None else (f"<= {high}" if high is not None else "")


def _plural(text: str) -> str:
    return {"text": "text values", "integer": "integers"}.get(text, text)


def number(value: Any) -> str:
    """A number as a person writes it: 7, 0.5 (not 7.0, 5e-01)."""
    return str(value) if isinstance(value, int) else f"{value:g}"
