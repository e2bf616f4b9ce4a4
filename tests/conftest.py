"""Shared fixtures: the offline engine (ops.engine) with a per-session cache, and stack files."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from config import StackConfig, deep_merge, load_stack_config
from ops.engine import PROJECT_DIR, Plan, plan_stack, read_stack_config

STACKS = ("dev", "staging", "prod")

_plans: dict[tuple[str, str], Plan] = {}


def build_plan(stack: str, overrides: Mapping[str, Any] | None = None) -> Plan:
    """The offline plan of a shipped stack, optionally with config overrides (`{"ai-platform:network": {...}}`).

    Plans are cached per (stack, overrides) for the session: building one runs the whole program.
    """
    key = (stack, json.dumps(overrides or {}, sort_keys=True))
    if key not in _plans:
        _plans[key] = plan_stack(stack, PROJECT_DIR, overrides)
    return _plans[key]


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None) -> StackConfig:
    """The validated config of a shipped stack (plus overrides), without running any Pulumi code."""
    return load_stack_config(stack, deep_merge(read_stack_config(stack), overrides or {}))


def sdk_class(type_token: str) -> type | None:
    """The pulumi_aws / pulumi_eks class of a plan type token (`aws:ec2/vpc:Vpc`), or None for other packages."""
    package, module_path, class_name = type_token.split(":")
    base = {"aws": "pulumi_aws", "eks": "pulumi_eks"}.get(package)
    if base is None:
        return None
    module = module_path.split("/")[0].replace("-", "_")
    module_name = base if module == "index" else f"{base}.{'lambda_' if module == 'lambda' else module}"
    return getattr(importlib.import_module(module_name), class_name, None)


@pytest.fixture(scope="session")
def plan_of() -> Callable[..., Plan]:
    """`plan_of("prod")` or `plan_of("dev", {"ai-platform:network": {"az_count": 3}})`."""
    return build_plan


@pytest.fixture(params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over every shipped stack."""
    return request.param
