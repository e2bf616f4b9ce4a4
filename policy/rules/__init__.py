"""The rule registry: every rule module, in area order, and the pack config each environment applies.

Import this package as `policy.rules` (tests, the offline gate) or as `rules` (the pack's `__main__.py`, run by
Pulumi from the `policy/` directory); both load the very same modules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel

from . import (  # noqa: F401 - each module registers its rules
    aws_api,
    backup,
    compute,
    database,
    dr,
    edge,
    identity,
    kubernetes,
    kubernetes_node,
    network,
    observability,
    operations,
    security,
    serverless,
    stack,
    storage,
)
from .core import REGISTRY, Rule
from .iam_catalog import iam_catalog_valid  # noqa: F401 - registers the rule (IAM against AWS's action catalogue)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
ENVIRONMENTS = ("dev", "staging", "prod")
RULES: tuple[Rule, ...] = tuple(REGISTRY)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


class PackConfigError(ValueError):
    """A pack config file that is missing, not JSON, or names a rule or level that does not exist."""


def load_pack_config(environment: str, config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    """`policy/config/<environment>.json`: the file CI passes as `--policy-pack-config` for that environment."""
    path = config_dir / f"{environment}.json"
    if not path.is_file():
        raise PackConfigError(
            f"{path}: no pack config for environment {environment!r}; allowed: {', '.join(ENVIRONMENTS)}"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise PackConfigError(f"{path}: not valid JSON: {error}") from None
    levels = {level.value for level in EnforcementLevel}
    for key, value in data.items():
        if key != "all" and key not in RULES_BY_ID:
            raise PackConfigError(f"{path}: {key}: unknown rule; allowed: all, {', '.join(sorted(RULES_BY_ID))}")
        level = value if isinstance(value, str) else value.get("enforcementLevel") if isinstance(value, dict) else None
        if level is not None and level not in levels:
            raise PackConfigError(f"{path}: {key}: enforcement {level!r}; allowed: {', '.join(sorted(levels))}")
        if isinstance(value, dict) and key in RULES_BY_ID:
            params = RULES_BY_ID[key].params
            for name, setting in value.items():
                if name in params and (problem := _check_setting(setting, params[name].schema)):
                    raise PackConfigError(f"{path}: {key}.{name}: {setting!r} {problem}")
            unknown = set(value) - {"enforcementLevel"} - set(RULES_BY_ID[key].params)
            if unknown:
                allowed = ", ".join(["enforcementLevel", *RULES_BY_ID[key].params])
                raise PackConfigError(
                    f"{path}: {key}: unknown setting(s) {', '.join(sorted(unknown))}; allowed: {allowed}"
                )
    return data


def _check_setting(value: Any, schema: Mapping[str, Any]) -> str | None:
    """Why `value` does not fit a rule setting's JSON schema (the subset the rules use), or None."""
    kind = schema.get("type")
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return "is not an integer; allowed: a whole number"
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            shown_low, shown_high = ("..." if bound is None else bound for bound in (low, high))
            return f"is out of range; allowed: {shown_low} to {shown_high}"
    if kind == "array" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return "is not a list of strings; allowed: a JSON array of strings"
    return None


def enforcement_for(rule: Rule, pack_config: Mapping[str, Any]) -> EnforcementLevel:
    """The level the Pulumi CLI would apply: the rule's own config entry, else `all`, else the rule's default."""
    for key in (rule.id, "all"):
        value = pack_config.get(key)
        level = value if isinstance(value, str) else value.get("enforcementLevel") if isinstance(value, dict) else None
        if level is not None:
            return EnforcementLevel(level)
    return rule.enforcement


def rule_config(rule: Rule, pack_config: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's settings from pack config (what `args.get_config()` returns inside CrossGuard)."""
    value = pack_config.get(rule.id)
    return {k: v for k, v in value.items() if k != "enforcementLevel"} if isinstance(value, dict) else {}


def mandatory_ids(environment: str) -> set[str]:
    config = load_pack_config(environment)
    return {rule.id for rule in RULES if enforcement_for(rule, config) == EnforcementLevel.MANDATORY}


def enabled_ids(environment: str) -> set[str]:
    """The rules an environment's pack config does not disable."""
    config = load_pack_config(environment)
    return {rule.id for rule in RULES if enforcement_for(rule, config) != EnforcementLevel.DISABLED}


__all__ = ["ENVIRONMENTS", "RULES", "RULES_BY_ID", "PackConfigError", "Rule", "enabled_ids", "enforcement_for",
           "load_pack_config", "mandatory_ids", "rule_config"]  # fmt: skip
