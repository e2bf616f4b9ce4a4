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


def primary_site(plan: Plan) -> Plan:
    """The plan without the DR region's side (`<stack>-dr...`): what a test of one component of the primary site
    reads when a stack with disaster recovery declares that component twice (tests/test_dr.py covers the DR side)."""
    prefix = f"{plan.stack}-dr"
    kept = [r for r in plan.resources if not (r.name == prefix or r.name.startswith(f"{prefix}-"))]
    return Plan(plan.stack, kept, plan.outputs, plan.preview)


def build_primary_plan(stack: str, overrides: Mapping[str, Any] | None = None) -> Plan:
    """`build_plan`, restricted to the primary site."""
    return primary_site(build_plan(stack, overrides))


@pytest.fixture(scope="session")
def primary_plan_of() -> Callable[..., Plan]:
    """`plan_of`, restricted to the primary site (per-component tests of components the DR side composes again)."""
    return build_primary_plan


@pytest.fixture(scope="session")
def plan_of() -> Callable[..., Plan]:
    """`plan_of("prod")` or `plan_of("dev", {"ai-platform:network": {"az_count": 3}})`."""
    return build_plan


@pytest.fixture(params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over every shipped stack."""
    return request.param
