"""Bad stack files end in one `StackConfigError` line per problem, before any resource: files that are not stack
files, values of the wrong JSON type, non-ASCII digits, namespaces the platform owns, repeated list entries,
unknown config namespaces, keys without a namespace, AZs the region does not offer; every line says what is allowed."""

# ruff: noqa: RUF001 - digits of other scripts (Arabic-Indic, full-width) are what several of these tests feed in

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.addons import NAMESPACES
from components.migrations import DatabaseMigrationsArgs
from components.platform import build
from config import SECTIONS, StackConfigError, load_from_pulumi, load_stack_config
from config.keys import MAX_DEPTH
from config.namespaces import ADDON_NAMESPACES, RESERVED_NAMESPACES
from ops.engine import PROJECT_DIR, StackFileError, read_stack_config, run_program
from tests.conftest import STACKS

# `Pulumi.<stack>.yaml: <key>: <what is wrong>; allowed: <what is>`, one line.
LINE = re.compile(
    r"^Pulumi\.(?P<stack>[\w-]+)\.yaml: (?P<key>(?:[^\s\x22]|\x22[^\x22]*\x22)+): "
    r"(?P<what>.+); allowed: (?P<allowed>.+)$"
)


def shipped(stack: str = "prod") -> dict[str, Any]:
    return copy.deepcopy(read_stack_config(stack))


def problems(raw: dict[str, Any], stack: str = "prod") -> list[str]:
    with pytest.raises(StackConfigError) as error:
        load_stack_config(stack, raw)
    for line in error.value.problems:
        assert LINE.match(line), line
        assert "\n" not in line
    return error.value.problems


def only(raw: dict[str, Any], stack: str = "prod") -> str:
    [line] = problems(raw, stack)
    return line


def with_section(section: str, **values: Any) -> dict[str, Any]:
    """The shipped prod stack with `values` set in `ai-platform:<section>` (nested maps merge one level)."""
    raw = shipped()
    current = raw.setdefault(f"ai-platform:{section}", {})
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            current[key] = {**current[key], **value}
        else:
            current[key] = value
    return raw


def write_stack(directory: Path, content: bytes | str, stack: str = "broken") -> str:
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return stack


# --- files that are not stack files --------------------------------------------------------------------------------

_NESTED = "config:\n  aws:region: us-east-1\n  ai-platform:network: " + "[" * 10_000 + "]" * 10_000 + "\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"config:\n  ai-platform:environment: d\xe9v\n", "not UTF-8 text (byte 0xe9 at offset 36)"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary content"),
        ("config:\n  aws:region: [us-east-1\n", "not valid YAML (line 3, column 1"),
        ("config: {a: 1\n", "not valid YAML"),
        ("- config\n- aws:region\n", "the document is a list"),
        ("just text\n", "the document is text"),
        ("", "no `config:` key"),
        ("secretsprovider: passphrase\n", "no `config:` key"),
        ("config: us-east-1\n", "`config:` is text, not a map"),
        ("config:\n  - aws:region\n", "`config:` is a list, not a map"),
        ("config:\n  aws:region: us-east-1\n  aws:region: eu-west-1\n", "'aws:region' is repeated (first at line 2)"),
        (_NESTED, "nested more than 100 levels deep"),
        (_NESTED.replace("[", "[a, ").replace("]", ", '[']", 50), "nested more than 100 levels deep"),
        ("config:\n" + "".join(f"{'  ' * (n + 1)}k{n}:\n" for n in range(600)), "nested too deep for a YAML"),
        ("config:\n  aws:region: !!int us-east-1\n", "not valid YAML (invalid literal for int()"),
    ],
    ids=["latin-1", "binary", "unclosed-list", "unclosed-map", "list-doc", "text-doc", "empty", "no-config",
         "config-text", "config-list", "repeated-key", "10000-levels", "10000-levels-with-quotes", "600-block-levels",
         "bad-tag"],
)  # fmt: skip
def test_a_file_that_is_not_a_stack_file_is_one_line_naming_it(tmp_path: Path, content: Any, expected: str) -> None:
    stack = write_stack(tmp_path, content)
    with pytest.raises(StackFileError) as error:
        read_stack_config(stack, tmp_path)
    [line] = error.value.problems
    assert isinstance(error.value, StackConfigError)
    assert line.startswith(f"Pulumi.{stack}.yaml: config: ")
    assert expected in line
    assert "; allowed: a UTF-8 YAML document with a `config:` map" in line


def test_a_byte_order_mark_is_dropped_as_pulumi_drops_it(tmp_path: Path) -> None:
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    stack = write_stack(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert load_stack_config("dev", read_stack_config(stack, tmp_path)).network.cidr == "10.10.0.0/16"


def test_yaml_is_read_as_pulumi_reads_it_yes_and_dates_stay_text(tmp_path: Path) -> None:
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    stack = write_stack(tmp_path, text + "  ai-platform:storage:\n    protect: yes\n  ai-platform:x: 2026-01-01\n")
    raw = read_stack_config(stack, tmp_path)
    assert raw["ai-platform:storage"] == {"protect": "yes"}
    assert raw["ai-platform:x"] == "2026-01-01"
    line = next(p for p in problems(raw, "dev") if p.startswith("Pulumi.dev.yaml: ai-platform:storage"))
    assert line == (
        "Pulumi.dev.yaml: ai-platform:storage.protect: got 'yes', which is text; allowed: `true` or `false`"
    )


def test_values_nested_without_bound_are_refused_without_recursion() -> None:
    deep: Any = "leaf"
    for _ in range(10_000):
        deep = [deep]
    as_json = "[" * 10_000 + "]" * 10_000  # as the Pulumi runtime would hand it over
    raw = {**shipped(), "ai-platform:network": deep, "ai-platform:storage": as_json}
    lines = problems(raw)
    assert any(f"ai-platform:network: nested more than {MAX_DEPTH} levels deep" in line for line in lines)
    assert any(line.startswith("Pulumi.prod.yaml: ai-platform:storage: got '[[[[") for line in lines)


def test_aliases_cannot_blow_up_into_a_billion_values(tmp_path: Path) -> None:
    levels = "".join(f"    l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]\n"
                     for i in range(1, 12))  # fmt: skip
    text = f"config:\n  ai-platform:environment: prod\n  ai-platform:api:\n    l0: &l0 [x]\n{levels}"
    with pytest.raises(StackFileError) as error:
        read_stack_config(write_stack(tmp_path, text), tmp_path)
    assert error.value.problems == [
        "Pulumi.broken.yaml: ai-platform:api: more than 100000 values (a YAML alias counts each time it is used); "
        "allowed: at most 100000 values under one key"
    ]


# --- strict types: the JSON type the runtime hands over, never a conversion -----------------------------------------


@pytest.mark.parametrize(
    ("section", "values", "key", "expected"),
    [
        ("network", {"az_count": True}, "network.az_count", "true was read as a boolean"),
        ("network", {"az_count": 2.0}, "network.az_count", "2.0 is not a whole number (write 2)"),
        ("network", {"az_count": "3"}, "network.az_count", "got '3', which is text (write numbers"),
        ("storage", {"protect": 1}, "storage.protect", "got 1; allowed: `true` or `false`"),
        ("storage", {"protect": "true"}, "storage.protect", "got 'true', which is text"),
        ("database", {"serverless_max_capacity": True}, "database.serverless_max_capacity", "read as a boolean"),
        ("database", {"serverless_max_capacity": float("nan")}, "database.serverless_max_capacity", "not a finite"),
        ("database", {"engine_version": 17.4}, "database.engine_version", "17.4 was read as a number (YAML)"),
        ("api", {"image": {"tag": 1.1}}, "api.image.tag", "allowed: the tag quoted as written"),
        ("tags", {"owner": 42}, "tags.owner", "42 was read as a number (YAML); allowed: the owner quoted"),
        ("cluster", {"admin_roles": "platform-admin"}, "cluster.admin_roles", "got 'platform-admin', which is text"),
        ("cluster", {"node_groups": ["system"]}, "cluster.node_groups", "got a list; allowed: map of names to"),
        ("api", {"canary": {"pause_minutes": [5, 10.5, 10]}}, "api.canary.pause_minutes.1", "got 10.5"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_not_converted(section, values, key, expected) -> None:
    line = only(with_section(section, **values))
    assert line.startswith(f"Pulumi.prod.yaml: ai-platform:{key}: ")
    assert expected in line


def test_a_section_that_is_not_a_map_lists_its_keys() -> None:
    line = only({**shipped(), "ai-platform:network": 5})
    assert line == (
        "Pulumi.prod.yaml: ai-platform:network: got 5; allowed: map with the keys cidr, az_count, availability_zones, "
        "nat_strategy, flow_logs_retention_days, flow_logs_traffic_type, interface_endpoints"
    )


def test_a_missing_required_key_says_what_it_takes() -> None:
    raw = shipped()
    del raw["ai-platform:api"]["domain_name"]
    assert only(raw) == (
        "Pulumi.prod.yaml: ai-platform:api.domain_name: required key is missing; allowed: a lowercase fully "
        "qualified DNS name, e.g. api.example.com"
    )


@pytest.mark.parametrize(
    ("section", "values", "key"),
    [
        ("database", {"engine_version": "١٧.٤"}, "database.engine_version"),  # Arabic-Indic digits
        ("database", {"backup_window": "٠٣:00-04:00"}, "database.backup_window"),
        ("addons", {"karpenter": {"chart_version": "１.8.1"}}, "addons.karpenter.chart_version"),  # full-width
        ("addons", {"karpenter": {"consolidate_after": "٥m"}}, "addons.karpenter.consolidate_after"),
        ("addons", {"karpenter": {"ami_alias": "al2023@v２０２５０１０１"}}, "addons.karpenter.ami_alias"),
        ("cluster", {"addon_versions": {"coredns": "v1.１2.3-eksbuild.1"}}, "cluster.addon_versions.coredns"),
        ("cluster", {"admin_roles": ["plätform-admin"]}, "cluster.admin_roles.0"),
        ("cluster", {"public_access_cidrs": ["１98.51.100.0/24"], "endpoint_public_access": True},
         "cluster.public_access_cidrs.0"),
        ("network", {"cidr": "١0.0.0.0/16"}, "network.cidr"),
        ("api", {"resources": {"requests": {"cpu": "٢٥٠m"}}}, "api.resources.requests.cpu"),
        ("api", {"pdb_max_unavailable": "٥0%"}, "api.pdb_max_unavailable"),
        ("api", {"secret_refresh_interval": "１5m"}, "api.secret_refresh_interval"),
        ("api", {"analysis": {"request_metric": "http_requests_totａl"}}, "api.analysis.request_metric"),
        ("api", {"image": {"tag": "１.4.2"}}, "api.image.tag"),
        ("api", {"certificate_arn": "arn:aws:acm:us-east-1:١٢٣456789012:certificate/"
                                    "0b7e2c1a-4d5f-4a8e-9c3b-1f2d3e4a5b6c"}, "api.certificate_arn"),
    ],
)  # fmt: skip
def test_digits_and_letters_from_other_scripts_are_refused_where_aws_needs_ascii(section, values, key) -> None:
    assert only(with_section(section, **values)).startswith(f"Pulumi.prod.yaml: ai-platform:{key}: ")


# --- names the platform owns ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("namespace", RESERVED_NAMESPACES)
def test_the_ai_api_cannot_take_a_namespace_the_platform_owns(namespace: str) -> None:
    line = only(with_section("api", namespace=namespace))
    assert line.startswith("Pulumi.prod.yaml: ai-platform:api.namespace: ")
    assert "platform-db" in line.split("allowed: ")[1]


def test_the_reserved_namespaces_are_the_ones_the_components_create() -> None:
    assert NAMESPACES is ADDON_NAMESPACES
    assert set(ADDON_NAMESPACES.values()) | {DatabaseMigrationsArgs.namespace} <= set(RESERVED_NAMESPACES)
    assert {"external-secrets", "argo-rollouts", "kube-system", "platform-db"} <= set(RESERVED_NAMESPACES)


# --- repeated list entries (each would be a resource or a rule with the same key) ----------------------------------


@pytest.mark.parametrize(
    ("section", "values", "key"),
    [
        ("network", {"interface_endpoints": ["sts", "logs", "sts"]}, "network.interface_endpoints"),
        ("network", {"availability_zones": ["us-east-1a", "us-east-1a", "us-east-1b"]}, "network.availability_zones"),
        ("cluster", {"admin_roles": ["platform-admin", "platform-admin"]}, "cluster.admin_roles"),
        ("cluster", {"viewer_roles": ["viewer", "viewer"]}, "cluster.viewer_roles"),
        ("cluster", {"endpoint_public_access": True, "public_access_cidrs": ["198.51.100.0/24", "198.51.100.0/24"]},
         "cluster.public_access_cidrs"),
        ("cluster", {"node_groups": {"system": {"instance_types": ["m6i.large", "m6i.large"]}}},
         "cluster.node_groups.system.instance_types"),
        ("cluster", {"node_groups": {"system": {"taints": [{"key": "a"}, {"key": "a"}]}}},
         "cluster.node_groups.system.taints"),
        ("database", {"log_exports": ["postgresql", "postgresql"]}, "database.log_exports"),
        ("addons", {"karpenter": {"capacity_types": ["spot", "spot"]}}, "addons.karpenter.capacity_types"),
        ("addons", {"karpenter": {"instance_categories": ["c", "c"]}}, "addons.karpenter.instance_categories"),
        ("addons", {"karpenter": {"architectures": ["amd64", "amd64"]}}, "addons.karpenter.architectures"),
        ("api", {"waf": {"common_rules_count_only": ["SizeRestrictions_BODY", "SizeRestrictions_BODY"]}},
         "api.waf.common_rules_count_only"),
    ],
)  # fmt: skip
def test_a_list_entry_given_twice_is_refused(section, values, key) -> None:
    line = only(with_section(section, **values))
    assert line.startswith(f"Pulumi.prod.yaml: ai-platform:{key}: ")
    assert line.endswith("listed more than once; allowed: each entry once")


# --- namespaces of keys --------------------------------------------------------------------------------------------


def test_a_misspelt_project_namespace_is_an_error_not_a_silently_dropped_section() -> None:
    raw = shipped()
    raw["ai-platfrom:network"] = {"cidr": "10.20.0.0/16"}
    assert only(raw) == (
        "Pulumi.prod.yaml: ai-platfrom:network: unknown namespace ai-platfrom (did you mean ai-platform:network?); "
        "allowed: ai-platform:<key> (or <key> alone), aws:<key>, kubernetes:<key>, eks:<key>, pulumi:<key>"
    )


def test_the_providers_own_keys_are_theirs_to_judge() -> None:
    raw = {**shipped(), "aws:profile": "ops", "pulumi:tags": {"team": "x"}, "kubernetes:context": "c", "eks:x": 1}
    assert load_stack_config("prod", raw).region == "us-east-1"


def test_a_key_without_namespace_is_the_projects_as_pulumi_reads_it() -> None:
    raw = shipped()
    raw["network"] = {**raw.pop("ai-platform:network", {}), "cidr": "10.30.0.0/16"}
    raw["ai-platform:config:storage"] = {"protect": False}  # the old <namespace>:config:<key> form
    config = load_stack_config("prod", raw)
    assert (config.network.cidr, config.storage.protect) == ("10.30.0.0/16", False)
    message = only({**raw, "netwrok": {}})
    assert message.startswith("Pulumi.prod.yaml: ai-platform:netwrok: unknown key; allowed: ai-platform:addons, ")
    allowed = message.split("allowed: ")[1].split(", ")
    assert allowed == sorted(allowed)
    assert {"ai-platform:network", "ai-platform:environment", "ai-platform:tags", "ai-platform:dr"} <= set(allowed)


def test_one_key_set_with_and_without_its_namespace_is_an_error() -> None:
    raw = {**shipped(), "network": {"cidr": "10.30.0.0/16"}, "ai-platform:network": {"cidr": "10.40.0.0/16"}}
    assert only(raw) == (
        "Pulumi.prod.yaml: ai-platform:network: set twice, as ai-platform:network and network (Pulumi reads a key "
        "without a namespace as ai-platform:<key>); allowed: one of the two"
    )


# --- regions and AZs: before any resource --------------------------------------------------------------------------


def test_an_az_of_another_region_is_refused_by_the_loader() -> None:
    line = only(with_section("network", availability_zones=["eu-west-1a", "eu-west-1b", "eu-west-1c"]))
    assert line.startswith("Pulumi.prod.yaml: ai-platform:network.availability_zones: eu-west-1a, eu-west-1b")
    assert "allowed: us-east-1a, us-east-1b, ..." in line


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ai-platform:network": {"availability_zones": ["us-east-1a", "us-east-1b", "us-east-1z"]}},
         "ai-platform:network.availability_zones: us-east-1z not offered by us-east-1; allowed: 3 of us-east-1a, "
         "us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f"),
        ({"aws:region": "us-west-1", "ai-platform:api": {
            "certificate_arn": "arn:aws:acm:us-west-1:123456789012:certificate/0b7e2c1a-4d5f-4a8e-9c3b-1f2d3e4a5b6c"}},
         "ai-platform:network.az_count: 3 AZs asked but us-west-1 offers 2; allowed: 2 to 2"),
    ],
)  # fmt: skip
def test_an_az_the_region_does_not_offer_stops_the_program_before_any_resource(overrides, expected) -> None:
    raised: list[StackConfigError] = []

    def program() -> None:
        try:
            build(load_from_pulumi())
        except StackConfigError as error:
            raised.append(error)

    raw = shipped()
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    plan = run_program("prod", raw, program)
    assert [error.problems for error in raised] == [[f"Pulumi.prod.yaml: {expected}"]]
    assert plan.resources == []


# --- property: whatever a stack file holds, one config error line per problem ---------------------------------------

_ODD_TEXT = ["", "yes", "1.10", "١٧.٤", "１.8.1", "10.0.0.0/8", "latest", "kube-system", "a\nb", "x" * 300]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(_ODD_TEXT),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
_FILE_FAULTS = [
    b"\xff\xfe\x00c\x00o",
    b"config:\n  a: \xe9\n",
    b"config: [\n",
    b"- 1\n",
    b"config: 3\n",
    b"config:\n  a: 1\n  a: 2\n",
    ("config:\n  x: " + "[" * 3000).encode(),
]


def _fields(model: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of a section model, nested sections included."""
    from config.allowed import nested_model, unwrap_optional

    paths = []
    for name, field in model.model_fields.items():
        nested, container = nested_model(unwrap_optional(field.annotation))
        paths.append((*prefix, name))
        if nested is not None and container is None:
            paths.extend(_fields(nested, (*prefix, name)))
    return paths


_KEYS = [(f"ai-platform:{section}", path) for section, model in SECTIONS.items() for path in _fields(model)]
# The faults of this file's unit tests, one key each: wrong JSON type, other scripts' digits, owned namespace,
# repeated entries, an AZ of another region.
_TARGETED = [
    ("ai-platform:network", ("az_count",), True), ("ai-platform:network", ("az_count",), 3.0),
    ("ai-platform:api", ("image", "tag"), 1.1), ("ai-platform:database", ("engine_version",), "١٧.٤"),
    ("ai-platform:addons", ("karpenter", "chart_version"), "１.8.1"),
    ("ai-platform:api", ("namespace",), "platform-db"),
    ("ai-platform:cluster", ("admin_roles",), ["platform-admin", "platform-admin"]),
    ("ai-platform:network", ("availability_zones",), ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
]  # fmt: skip


@st.composite
def stack_files(draw: st.DrawFn) -> bytes:
    """A shipped stack file with faults: garbage at random keys, foreign namespaces, bare keys, or a broken file."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(_FILE_FAULTS))
    raw = shipped(draw(st.sampled_from(STACKS)))
    for _ in range(draw(st.integers(1, 3))):
        top, path, value = draw(st.one_of(
            st.sampled_from(_TARGETED), st.tuples(st.sampled_from(_KEYS), _values).map(lambda kv: (*kv[0], kv[1]))
        ))  # fmt: skip
        node = raw.setdefault(top, {})
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node[path[-1]] = value
    extra = draw(st.sampled_from([{}, {"ai-platfrom:network": {}}, {"network": {}}, {"aws:region": draw(_values)},
                                  {"ai-platform:environment": draw(_values)}, {"zz:top": 1}]))  # fmt: skip
    raw.update(extra)
    return yaml.safe_dump({"config": raw}, allow_unicode=True).encode()


@settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(content=stack_files())
def test_any_stack_file_ends_in_config_error_lines_that_name_the_file_the_key_and_what_is_allowed(
    tmp_path: Path, content: bytes
) -> None:
    stack = write_stack(tmp_path, content, "fuzz")
    lines: list[str] = []
    try:
        load_stack_config(stack, read_stack_config(stack, tmp_path))
    except StackConfigError as error:
        lines = error.problems
    for line in lines:
        match = LINE.match(line)
        assert match, line
        assert "\n" not in line
        assert match["stack"] == "fuzz"
        # the file itself, a key of the project or of aws, or a key of a namespace that is not allowed
        assert match["key"] in ("config", "ai-platfrom:network", "zz:top") or match["key"].startswith(
            ("ai-platform:", "aws:")
        ), line
