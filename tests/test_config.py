"""Stack configuration: per-environment defaults, overrides, and one clear error naming every bad key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import PROFILES, SECTIONS, StackConfigError, environment_defaults, load_stack_config
from tests.conftest import STACKS, stack_config

GOOD: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "ai-platform:environment": "dev",
    "ai-platform:tags": {"owner": "team", "cost-center": "cc-1"},
}


def problems(raw: dict[str, Any], stack: str = "dev") -> list[str]:
    with pytest.raises(StackConfigError) as error:
        load_stack_config(stack, raw)
    return error.value.problems


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_are_valid(stack: str) -> None:
    config = stack_config(stack)
    assert config.environment == stack
    assert config.stack == stack


def test_dev_is_cheap_and_prod_is_resilient() -> None:
    dev, prod = stack_config("dev"), stack_config("prod")
    assert (dev.network.nat_strategy, dev.network.az_count) == ("single", 2)
    assert (prod.network.nat_strategy, prod.network.az_count) == ("one_per_az", 3)
    assert dev.network.flow_logs_retention_days < prod.network.flow_logs_retention_days
    assert dev.identity.kms_deletion_window_days == 7
    assert prod.identity.kms_deletion_window_days == 30


def test_a_stack_key_overrides_its_environment_default_and_keeps_the_others() -> None:
    config = load_stack_config("dev", {**GOOD, "ai-platform:network": {"nat_strategy": "one_per_az"}})
    assert config.network.nat_strategy == "one_per_az"
    assert config.network.az_count == environment_defaults("dev")["network"]["az_count"]


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    leaves: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            leaves.update(_leaves(value, f"{prefix}{key}."))
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def test_the_model_defaults_are_production_and_profiles_hold_only_departures() -> None:
    assert PROFILES["prod"] == {}
    production = _leaves(environment_defaults("prod"))
    for environment in ("dev", "staging"):
        repeated = [
            key for key, value in _leaves(PROFILES[environment]).items()
            if key in production and json.dumps(production[key]) == json.dumps(value)
        ]  # fmt: skip
        assert not repeated, f"config/profiles.py: {environment} repeats production defaults: {repeated}"


def test_structured_values_arrive_as_json_text_from_the_pulumi_runtime() -> None:
    raw = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in GOOD.items()}
    raw["ai-platform:network"] = json.dumps({"cidr": "172.16.0.0/16"})
    assert load_stack_config("dev", raw).network.cidr == "172.16.0.0/16"


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("10.0.0.0/33", "is not an IPv4 network"),
        ("8.8.0.0/16", "is not a private range"),
        ("10.0.0.1/16", "host bits"),
        ("10.0.0.0/8", "larger than a VPC can be"),
        ("10.0.0.0/22", "too small for 2 AZs"),
        ("not-a-cidr", "is not an IPv4 network"),
    ],
)
def test_a_bad_cidr_names_the_file_the_key_and_what_is_allowed(cidr: str, expected: str) -> None:
    [line] = problems({**GOOD, "ai-platform:network": {"cidr": cidr}})
    assert line.startswith("Pulumi.dev.yaml: ai-platform:network.cidr: ")
    assert expected in line
    assert "; allowed: " in line


def test_every_bad_key_is_reported_at_once_one_line_each() -> None:
    raw = {
        **GOOD,
        "aws:region": "us-east-9",
        "ai-platform:tags": {"owner": "team"},
        "ai-platform:network": {"az_count": 9, "nat_strategy": "two", "subnets": 4},
        "ai-platform:netwrok": {},
    }
    lines = problems(raw)
    keys = [line.split(": ")[1] for line in lines]
    assert sorted(keys) == sorted(
        [
            "aws:region",
            "ai-platform:tags",
            "ai-platform:network.az_count",
            "ai-platform:network.nat_strategy",
            "ai-platform:network.subnets",
            "ai-platform:netwrok",
        ]
    )
    assert all(line.startswith("Pulumi.dev.yaml: ") and "; allowed: " in line for line in lines)
    assert any("'single' or 'one_per_az'" in line for line in lines)
    assert any("missing cost-center" in line for line in lines)


def test_unknown_key_lists_the_allowed_keys() -> None:
    [line] = problems({**GOOD, "ai-platform:network": {"nat": "single"}})
    assert "unknown key" in line
    assert "nat_strategy" in line.split("allowed: ")[1]


def test_environment_is_required_and_must_be_known() -> None:
    assert "required key is missing" in problems({"aws:region": "us-east-1"})[0]
    [line] = problems({**GOOD, "ai-platform:environment": "qa"})
    assert line == (
        "Pulumi.dev.yaml: ai-platform:environment: 'qa' is not a valid choice; allowed: 'dev', 'staging' or 'prod'"
    )


@pytest.mark.parametrize("days", [2, 0, 10000])
def test_log_retention_must_be_a_value_cloudwatch_accepts(days: int) -> None:
    [line] = problems({**GOOD, "ai-platform:network": {"flow_logs_retention_days": days}})
    assert "ai-platform:network.flow_logs_retention_days" in line
    assert "365" in line.split("allowed: ")[1]


def test_platform_owned_tags_cannot_be_overridden() -> None:
    [line] = problems({**GOOD, "ai-platform:tags": {"owner": "t", "cost-center": "c", "environment": "prod"}})
    assert "ai-platform:tags" in line
    assert "set by the platform" in line


def test_explicit_azs_must_match_the_count_and_the_region() -> None:
    wrong_count = problems({**GOOD, "ai-platform:network": {"availability_zones": ["eu-west-1a"]}})
    assert "ai-platform:network.availability_zones" in wrong_count[0]
    wrong_region = problems({**GOOD, "ai-platform:network": {"availability_zones": ["eu-west-1a", "us-east-1b"]}})
    assert "us-east-1b not in region eu-west-1" in wrong_region[0]


def test_error_message_names_the_source_file_given() -> None:
    [line] = problems({**GOOD, "ai-platform:environment": "qa"}, stack="feature-x")
    assert line.startswith("Pulumi.feature-x.yaml: ")


# --- property-based: whatever a stack file holds, the loader answers with a config error, never a crash --------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                     st.text(max_size=20))  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_network_fields = st.fixed_dictionaries(
    {},
    optional={
        "cidr": st.one_of(st.text(max_size=20), st.from_regex(r"\A(\d{1,3}\.){3}\d{1,3}/\d{1,2}\Z"), _values),
        "az_count": st.one_of(st.integers(-3, 12), _values),
        "availability_zones": st.one_of(st.lists(st.text(max_size=12), max_size=7), _values),
        "nat_strategy": st.one_of(st.sampled_from(["single", "one_per_az", "SINGLE", ""]), _values),
        "flow_logs_retention_days": st.one_of(st.integers(-5, 5000), _values),
        "interface_endpoints": st.one_of(st.lists(st.sampled_from(["sts", "logs", "ec2", ""]), max_size=4), _values),
        "bogus": _values,
    },
)
_malformed = st.fixed_dictionaries(
    {
        "ai-platform:network": st.one_of(_network_fields, _values, _network_fields.map(json.dumps)),
    },
    optional={
        "aws:region": st.one_of(st.sampled_from(["us-east-1", "us-east-9", "", "EU"]), _values),
        "ai-platform:environment": st.one_of(st.sampled_from(["dev", "staging", "prod", "qa"]), _values),
        "ai-platform:tags": st.one_of(st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4), _values),
        "ai-platform:identity": st.one_of(
            st.fixed_dictionaries({}, optional={"kms_deletion_window_days": _values}), _values
        ),
        "ai-platform:whatever": _values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_malformed)
def test_malformed_configs_always_raise_the_config_error(raw: dict[str, Any]) -> None:
    problems: list[str] = []
    try:
        load_stack_config("dev", raw)  # a valid config is fine: the property is "never anything but this error"
    except StackConfigError as error:
        problems = error.problems or ["<empty>"]
    assert all(line.startswith("Pulumi.dev.yaml: ") for line in problems)


# --- property-based, near-valid: one key of a shipped stack set to something random -------------------------------
# Garbage everywhere stops at the first field errors; a single bad key in an otherwise valid stack reaches the
# cross-field and cross-section checks too, where an unguarded comparison would raise TypeError.


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stack=st.sampled_from(STACKS),
    section=st.sampled_from(sorted(SECTIONS)),
    data=st.data(),
    value=st.one_of(_values, st.integers(-10, 10**6), st.sampled_from(["", "0", "true", "latest", "10.0.0.0/8"])),
)
def test_one_random_key_in_a_shipped_stack_never_crashes_the_loader(stack, section, data, value) -> None:
    from ops.engine import read_stack_config

    raw = read_stack_config(stack)
    field = data.draw(st.sampled_from(sorted(SECTIONS[section].model_fields)), label="field")
    current = raw.get(f"ai-platform:{section}")
    raw[f"ai-platform:{section}"] = {**(current if isinstance(current, dict) else {}), field: value}
    problems: list[str] = []
    try:
        load_stack_config(stack, raw)
    except StackConfigError as error:
        problems = error.problems or ["<empty>"]
    assert all(line.startswith(f"Pulumi.{stack}.yaml: ") for line in problems)
