"""Loading a stack's configuration: stack-file keys to sections, environment defaults merged under the stack's own
values, validation, and one `StackConfigError` line per mistake."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from typing import Any, get_args, get_origin

import pulumi
from pydantic import BaseModel, TypeAdapter, ValidationError

from config.errors import FieldError, StackConfigError
from config.profiles import ENVIRONMENTS, PROFILES
from config.stack import SECTIONS, StackConfig
from config.types import PROJECT

# Stack-file key -> StackConfig field. `ai-platform:<section>` keys map to the section of the same name.
_FIXED_KEYS = {"aws:region": "region", f"{PROJECT}:environment": "environment"}
_INTERNAL_FIELDS = {"stack", "region", "environment"}
# Sections a stack may leave out entirely (the feature is then not deployed); their defaults apply only when set.
_OPTIONAL_SECTIONS = {"api"}
_SEE_DOCS = "see docs/configuration.md"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` wins key by key; nested mappings merge, anything else (lists included) replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@functools.cache
def model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """A model's own default values as plain data; keys without a default (api.domain_name...) are left out."""
    return {
        name: TypeAdapter(field.annotation).dump_python(field.get_default(call_default_factory=True))
        for name, field in model.model_fields.items()
        if not field.is_required()
    }


def environment_defaults(environment: str) -> dict[str, dict[str, Any]]:
    """Every section's defaults in `environment`: the models' (production) defaults with its profile merged over.

    Defaults are merged as data rather than left to pydantic so that a stack's entry in a map keeps the rest of the
    default entry (`node_groups.system.max_size` alone keeps the `system` group's instance types and taint).
    """
    profile = PROFILES[environment]
    return {
        section: deep_merge(copy.deepcopy(model_defaults(model)), profile.get(section, {}))
        for section, model in SECTIONS.items()
    }


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to the program as JSON text; a stack file read directly gives objects."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _allowed_keys(loc: tuple[Any, ...]) -> list[str] | None:
    """The field names a model accepts at `loc` (for 'unknown key' messages)."""
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int) or model is None:
            return None
        annotation = None
        if isinstance(model, type) and issubclass(model, BaseModel) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        elif get_origin(model) is dict:
            annotation = get_args(model)[1]
        if annotation is None:
            return None
        model = _unwrap(annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(set(model.model_fields) - (_INTERNAL_FIELDS if model is StackConfig else set()))
    return None


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X, so that optional sections and maps are walked like required ones."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) not in (dict, None) and len(args) == 1:
        return args[0]
    return annotation


def _key_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if not parts:
        return f"{PROJECT}:<root>"
    head = parts[0]
    if head == "region":
        return "aws:region"
    return f"{PROJECT}:{head}" + "".join(f".{p}" for p in parts[1:])


def _describe(error: dict[str, Any]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(tuple(error["loc"][:-1]))
        return "unknown key; allowed: " + (", ".join(allowed) if allowed else _SEE_DOCS)
    if kind == "missing":
        return f"required key is missing; allowed: {_SEE_DOCS}"
    if kind == "literal_error":
        return f"{value!r} is not a valid choice; allowed: {ctx.get('expected')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()), "?")
        return f"{value!r} is out of range; allowed: {bound} {limit}"
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        return str(ctx["error"])
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a map of keys, got {value!r}; allowed: {_SEE_DOCS}"
    return f"{error['msg'].rstrip('.')} (got {value!r}); allowed: {_SEE_DOCS}"


def _located(error: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Move a `FieldError` raised by a model validator onto the field it blames."""
    cause = (error.get("ctx") or {}).get("error")
    loc = tuple(error["loc"])
    if isinstance(cause, FieldError):
        loc = loc + tuple(cause.field.split("."))
    return loc, error


# --- loading ----------------------------------------------------------------------------------------------------


def load_stack_config(stack: str, raw: Mapping[str, Any], source: str | None = None) -> StackConfig:
    """Validate a stack's raw config (`{"aws:region": ..., "ai-platform:network": {...}}`) into a `StackConfig`.

    `raw` values may be objects (a parsed stack file) or JSON text (the Pulumi runtime). Raises `StackConfigError`
    naming every bad key; never any other exception for a user mistake.
    """
    source = source or f"Pulumi.{stack}.yaml"
    problems: list[str] = []
    data: dict[str, Any] = {"stack": stack}
    section_fields = set(StackConfig.model_fields) - _INTERNAL_FIELDS
    for key, value in raw.items():
        key = str(key)
        if key in _FIXED_KEYS:
            data[_FIXED_KEYS[key]] = _decode(value)
        elif key.startswith(f"{PROJECT}:"):
            section = key.split(":", 1)[1]
            if section in section_fields:
                data[section] = _decode(value)
            else:
                problems.append(f"{source}: {key}: unknown key; allowed: {', '.join(sorted(section_fields))}")
        # Other namespaces (aws:profile, pulumi:...) belong to their providers and are not ours to judge.

    environment = data.get("environment")
    if not isinstance(environment, str) or environment not in ENVIRONMENTS:
        shown = "required key is missing" if environment is None else f"{environment!r} is not a valid choice"
        problems.append(f"{source}: {PROJECT}:environment: {shown}; allowed: 'dev', 'staging' or 'prod'")
        raise StackConfigError(problems)
    for section, section_defaults in environment_defaults(environment).items():
        if section in _OPTIONAL_SECTIONS and section not in data:
            continue  # an optional section the stack leaves out stays out (no workload), defaults and all
        if isinstance(data.get(section, {}), Mapping):
            data[section] = deep_merge(section_defaults, data.get(section, {}))

    try:
        config = StackConfig.model_validate(data)
    except ValidationError as error:
        for loc, detail in sorted(map(_located, error.errors()), key=lambda item: [str(p) for p in item[0]]):
            problems.append(f"{source}: {_key_name(loc)}: {_describe(detail)}")
        raise StackConfigError(problems) from None
    if problems:
        raise StackConfigError(problems)
    return config


def pulumi_runtime_config() -> dict[str, Any]:
    """Every config key the Pulumi runtime holds for this stack (set by `pulumi up` or by the offline engine)."""
    from pulumi.runtime import config as runtime_config  # the SDK exposes no public "all keys" call

    merged = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def load_from_pulumi() -> StackConfig:
    """Load the current stack's configuration from the Pulumi runtime (used by `__main__.py`)."""
    return load_stack_config(pulumi.get_stack(), pulumi_runtime_config())
