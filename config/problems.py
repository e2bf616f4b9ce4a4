"""Pydantic's validation errors as `StackConfigError` lines: one per key, naming the stack-file key, what is wrong
with the value, and what the key allows (from the field's annotation, constraints and validators)."""

from __future__ import annotations

import json
import math
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from config.allowed import allowed, allowed_field, nested_model, unwrap_optional
from config.errors import FieldError
from config.keys import key_text
from config.stack import StackConfig
from config.types import PROJECT

INTERNAL_FIELDS = frozenset({"stack", "region", "environment"})
_RANGE = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}
_TYPE_ERRORS = frozenset({
    "int_type", "int_from_float", "int_parsing", "float_type", "float_parsing", "string_type", "bool_type",
    "bool_parsing", "tuple_type", "list_type", "dict_type", "model_type", "model_attributes_type", "finite_number",
    "none_required", "literal_error",
})  # fmt: skip


def problem_lines(
    error: ValidationError, source: str, root: type[BaseModel] = StackConfig, project: str = PROJECT
) -> list[str]:
    """One line per key that `error` blames, sorted by key; `root` is the validated model (a project's whole
    config) and `project` the namespace of its keys (the bootstrap project has its own)."""
    grouped: dict[tuple[Any, ...], tuple[Target, list[ErrorDetails]]] = {}
    for detail in error.errors():
        target = resolve(_blamed_loc(detail), root)
        grouped.setdefault(target.path, (target, []))[1].append(detail)
    lines = []
    for path in sorted(grouped, key=lambda p: [str(part) for part in p]):
        target, details = grouped[path]
        if {d["type"] for d in details} == {"too_short"} and any(p[: len(path)] == path != p for p in grouped):
            continue  # a list counted short only because an entry failed: the entry's own line says it
        lines.append(f"{source}: {key_name(path, project)}: {_describe(target, details)}".replace("\n", "\\n"))
    return lines


def key_name(path: tuple[Any, ...], project: str = PROJECT) -> str:
    """`("network", "cidr")` -> `ai-platform:network.cidr`; `("region",)` -> `aws:region`."""
    parts = [key_text(str(p)) for p in path]
    if not parts:
        return f"{project}:<root>"
    if parts[0] == "region":
        return "aws:region"
    return f"{project}:{parts[0]}" + "".join(f".{p}" for p in parts[1:])


def _blamed_loc(detail: ErrorDetails) -> tuple[Any, ...]:
    """The error's location; a `FieldError` raised by a model validator moves it onto the field it blames."""
    cause = (detail.get("ctx") or {}).get("error")
    loc = tuple(detail["loc"])
    return loc + tuple(cause.field.split(".")) if isinstance(cause, FieldError) else loc


class Target:
    """Where an error points: the key path (without pydantic's union-member tags) and what that key takes."""

    def __init__(
        self, path: tuple[Any, ...], field: FieldInfo | None, annotation: Any, parent: Any, root: Any = StackConfig
    ) -> None:
        self.path, self.field, self.annotation, self.parent, self.root = path, field, annotation, parent, root

    def allowed(self) -> str:
        """What the key takes, in words, with "the keys below" (a docs table idiom) spelled out."""
        if self.annotation is None:
            return "no such key"
        text = allowed_field(self.field) if self.field is not None else allowed(self.annotation, [])
        model, _ = nested_model(unwrap_optional(self.annotation))
        if model is not None and "the keys below" in text:
            text = text.replace("the keys below", "the keys " + ", ".join(model.model_fields))
        return text

    def model_keys(self) -> list[str]:
        """The keys the model enclosing this key accepts (for 'unknown key')."""
        if isinstance(self.parent, type) and issubclass(self.parent, BaseModel):
            return sorted(set(self.parent.model_fields) - (INTERNAL_FIELDS if self.parent is self.root else set()))
        return []


def resolve(loc: tuple[Any, ...], root: type[BaseModel] = StackConfig) -> Target:
    """Walk `loc` down from `root`: models by field, maps by key, lists by index; union tags are skipped."""
    annotation: Any = root
    parent: Any = None
    field: FieldInfo | None = None
    path: list[Any] = []
    for part in loc:
        annotation = _bare(annotation)
        origin, args = get_origin(annotation), get_args(annotation)
        if origin in (Union, types.UnionType) and isinstance(part, str):
            continue  # pydantic names the union member that failed ('int', 'str'): not a key of the stack file
        path.append(part)
        parent, field = annotation, None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            annotation = field.annotation if field is not None else None
        elif origin is dict and args:
            annotation = args[1]
        elif origin is tuple and args and isinstance(part, int):
            annotation = args[0] if args[-1] is Ellipsis else (args[part] if part < len(args) else None)
        else:
            annotation = None
    return Target(tuple(path), field, annotation, parent, root)


def _bare(annotation: Any) -> Any:
    """The type under `Annotated[...]` and `X | None`."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        unwrapped = unwrap_optional(annotation)
        if unwrapped is annotation:
            return annotation
        annotation = unwrapped


def _describe(target: Target, details: list[ErrorDetails]) -> str:
    """What is wrong with the key and what it allows, from the errors pydantic reported for it."""
    for detail in details:
        cause = (detail.get("ctx") or {}).get("error")
        if detail["type"] == "value_error" and isinstance(cause, ValueError):
            return str(cause)  # the validators' own messages already say what is allowed
    detail = details[0]
    kind, ctx, value = detail["type"], detail.get("ctx") or {}, detail.get("input")
    if kind == "extra_forbidden":
        return "unknown key; allowed: " + (", ".join(target.model_keys()) or "no keys here")
    if kind == "missing":
        return f"required key is missing; allowed: {target.allowed()}"
    if kind == "literal_error" and len(details) == 1:
        return f"{shown(value)} is not a valid choice; allowed: {ctx.get('expected')}"
    if kind in _RANGE:
        return f"{shown(value)} is out of range; allowed: {_RANGE[kind]} {next(iter(ctx.values()), '?')}"
    if kind == "string_pattern_mismatch":
        return f"{shown(value)} does not have the required form; allowed: {target.allowed()}"
    if all(d["type"] in _TYPE_ERRORS for d in details):
        kinds = {d["type"] for d in details}
        allowed_text = target.allowed()
        if kinds == {"string_type"} and isinstance(value, int | float) and not isinstance(value, bool):
            name = str(target.path[-1]).replace("_", " ") if target.path else "value"
            allowed_text = f"the {name} quoted as written (unquoted, 1.10 reads as 1.1): {allowed_text}"
        return f"{_wrong_type(kinds, value)}; allowed: {allowed_text}"
    return f"{detail['msg'].rstrip('.')} (got {shown(value)}); allowed: {target.allowed()}"


def _wrong_type(kinds: set[str], value: Any) -> str:
    """What the value was read as, with the YAML pitfall behind it when there is one."""
    if isinstance(value, bool):
        return f"{json.dumps(value)} was read as a boolean (YAML true/false)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if isinstance(value, int | float) and kinds == {"string_type"}:
        return f"{value!r} was read as a number (YAML)"
    if isinstance(value, float) and value.is_integer():
        return f"{value!r} is not a whole number (write {int(value)})"
    if isinstance(value, str):
        looks_typed = value.strip().lower() in ("true", "false") or re.fullmatch(r"[-+]?[0-9]+(\.[0-9]*)?", value)
        hint = " (write numbers and true/false unquoted)" if looks_typed else ""
        return f"got {shown(value)}, which is text{hint}"
    return f"got {shown(value)}"


def shown(value: Any) -> str:
    """A value as a message quotes it: short, on one line."""
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return json.dumps(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:76] + "...'"
