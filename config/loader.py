"""Loading a stack's configuration: stack-file keys to sections, environment defaults merged under the stack's own
values, validation, and one `StackConfigError` line per mistake."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from config.errors import StackConfigError
from config.keys import project_values, qualified_keys
from config.problems import INTERNAL_FIELDS, problem_lines
from config.profiles import ENVIRONMENTS, PROFILES
from config.stack import SECTIONS, StackConfig
from config.types import PROJECT

# Stack-file key -> StackConfig field. `ai-platform:<section>` keys map to the section of the same name.
_FIXED_KEYS = {"aws:region": "region", f"{PROJECT}:environment": "environment"}
# Sections a stack may leave out entirely (the feature is then not deployed); their defaults apply only when set.
_OPTIONAL_SECTIONS = {"api", "dns"}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` wins key by key; nested mappings merge, anything else (lists included) replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _annotation(field: FieldInfo) -> Any:
    """A model field's type (pydantic sets it on every field of a defined model)."""
    return field.annotation


@functools.cache
def model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """A model's own default values as plain data; keys without a default (api.domain_name...) are left out."""
    return {
        name: TypeAdapter[Any](_annotation(field)).dump_python(field.get_default(call_default_factory=True))
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


# --- loading ----------------------------------------------------------------------------------------------------


def load_stack_config(stack: str, raw: Mapping[Any, Any], source: str | None = None) -> StackConfig:
    """Validate a stack's raw config (`{"aws:region": ..., "ai-platform:network": {...}}`) into a `StackConfig`.

    `raw` values may be objects (a parsed stack file) or JSON text (the Pulumi runtime); keys are read as Pulumi
    reads them (`config/keys.py`). Values are validated as the JSON the runtime hands the program, strictly: a
    number where text is required (or the other way round), a boolean for a number, 2.0 for a count are errors, not
    conversions. Raises `StackConfigError` naming every bad key; never any other exception for a user mistake.
    """
    source = source or f"Pulumi.{stack}.yaml"
    problems: list[str] = []
    data: dict[str, Any] = {"stack": stack}
    section_fields = set(StackConfig.model_fields) - INTERNAL_FIELDS
    keys = qualified_keys(raw, source, problems)
    data.update(project_values(keys, source, PROJECT, _FIXED_KEYS, section_fields, problems))

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
        config = StackConfig.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as error:
        raise StackConfigError(problems + problem_lines(error, source)) from None
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
