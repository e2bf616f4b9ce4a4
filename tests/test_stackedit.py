"""ops/stackedit.py, the one editor of stack files (maintenance mode, image record, DR region): on every shipped
stack file, setting a key changes only that key's lines (added when the key or its whole section is absent), the
result reads back as the project's loader reads stack files, and a result that would not load is refused with the
file left as it was."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml

from config import StackConfigError
from config.stackfile import StackYamlLoader, read_stack_file
from ops.db.sql import StepError
from ops.db.switch import set_flag
from ops.engine import PROJECT_DIR
from ops.stackedit import DELETE, StackEditError, set_value, update_file

STACKS = ["dev", "staging", "prod"]
DIGEST = "sha256:" + "ab" * 32
KEYS = [  # (section, path, value, the line it must leave)
    ("ai-platform:api", ("maintenance_mode",), True, "    maintenance_mode: true"),
    ("ai-platform:api", ("image", "digest"), DIGEST, f"      digest: {DIGEST}"),
    ("ai-platform:dr", ("active_region",), "us-west-2", "    active_region: us-west-2"),
]


def _changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) of a line diff: every other line must be byte-identical."""
    removed, added = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, before.splitlines(True), after.splitlines(True)
    ).get_opcodes():
        if tag != "equal":
            removed += before.splitlines(True)[i1:i2]
            added += after.splitlines(True)[j1:j2]
    return removed, added


def read_stack_file_text(text: str) -> dict:
    return yaml.load(text, Loader=StackYamlLoader)["config"]


def _without(text: str, first: str, count: int) -> str:
    """`text` without the `count` lines from the one starting (after its indent) with `first`."""
    lines = text.splitlines(True)
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(first))
    return "".join(lines[:start] + lines[start + count :])


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(("section", "path", "value", "line"), KEYS)
def test_setting_a_key_changes_only_its_line_in_every_shipped_stack(stack, section, path, value, line, tmp_path):
    text = (PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text()
    variants = {"as shipped": text}
    if path == ("image", "digest") and "digest:" in text:
        variants["key absent"] = _without(text, "digest:", 1)
    for name, before in variants.items():
        after = set_value(before, section, path, value)
        removed, added = _changes(before, after)
        assert [a.rstrip("\n") for a in added] == ([f"  {section}:", line] if section not in before else [line]), name
        assert all(r.strip().startswith(f"{path[-1]}:") for r in removed), name
        file = tmp_path / f"Pulumi.{stack}.yaml"
        file.write_text(before)
        if stack == "dev" and section == "ai-platform:dr":  # dev runs no DR: the model refuses the region
            with pytest.raises(StackConfigError, match="active_region: set while strategy is 'none'"):
                update_file(file, section, {path: value})
            assert file.read_text() == before
            continue
        assert update_file(file, section, {path: value}) is True
        assert file.read_text() == after
        raw = read_stack_file(file)
        node = raw[section]
        for key in path:
            node = node[key]
        assert node == value
        assert set_value(after, section, path, value) == after, "setting it again changes nothing"
        assert update_file(file, section, {path: value}) is False


@pytest.mark.parametrize("stack", STACKS)
def test_a_whole_absent_section_is_added_with_its_maps(stack: str) -> None:
    text = (PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text()
    lines = text.splitlines(True)
    start = next(i for i, line in enumerate(lines) if line.startswith("  ai-platform:api:"))
    without_api = "".join(lines[:start])  # the api section is the file's last; its comment stays at the end
    after = set_value(without_api, "ai-platform:api", ("image", "digest"), DIGEST)
    assert _changes(without_api, after) == ([], ["  ai-platform:api:\n", "    image:\n", f"      digest: {DIGEST}\n"])
    assert read_stack_file_text(after)["ai-platform:api"] == {"image": {"digest": DIGEST}}


def test_a_result_the_config_model_refuses_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    file = tmp_path / "Pulumi.dev.yaml"
    shutil.copy(PROJECT_DIR / "Pulumi.dev.yaml", file)
    before = file.read_text()
    with pytest.raises(StackConfigError, match="maintenance_mode"):
        update_file(file, "ai-platform:api", {("maintenance_mode",): "sometimes"})
    with pytest.raises(StackConfigError, match="active_region"):
        update_file(file, "ai-platform:dr", {("active_region",): "mars-north-1"})
    assert file.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["Pulumi.dev.yaml"], "no candidate file is left behind"


@pytest.mark.parametrize(
    "value", ["1.0", "true", "yes", "017", "", "a: b", "x #y", "- item", "two\nlines", "  padded", "naïve ✓", '"q"', 42]
)
def test_values_are_quoted_exactly_when_the_loader_needs_it(value: str | int, tmp_path: Path) -> None:
    file = tmp_path / "Pulumi.dev.yaml"
    file.write_text("config:\n  aws:region: us-east-1\n  ai-platform:x:\n    a: 1  # kept\n")
    file.write_text(set_value(file.read_text(), "ai-platform:x", ("a",), value))
    assert read_stack_file(file)["ai-platform:x"]["a"] == value
    assert file.read_text().endswith("  # kept\n")
    plain = set_value("config:\n  s:\n    a: 1\n", "s", ("a",), "1.4.2")
    assert plain == "config:\n  s:\n    a: 1.4.2\n"


def test_deleting_a_key_removes_only_its_line_and_an_absent_key_is_no_change() -> None:
    text = "config:\n  s:\n    image:\n      tag: x  # old\n      digest: y\n  # next section\n  t: 1\n"
    assert set_value(text, "s", ("image", "tag"), DELETE) == text.replace("      tag: x  # old\n", "")
    assert set_value(text, "s", ("image", "nope"), DELETE) == text
    assert set_value(text, "u", ("a",), DELETE) == text


def test_empty_maps_and_values_are_filled_in_place() -> None:
    assert set_value("config:\n  s:\n    image:\n  t: 1\n", "s", ("image", "tag"), "v") == (
        "config:\n  s:\n    image:\n      tag: v\n  t: 1\n"
    )
    assert set_value("config:\n  s:\n    tag:  # later\n", "s", ("tag",), "v") == "config:\n  s:\n    tag: v  # later\n"
    assert set_value("config:\n  s:\n    a: 1", "s", ("b",), 2) == "config:\n  s:\n    a: 1\n    b: 2\n"
    assert set_value("config:\n    s:\n        a: 1\n", "s", ("m", "k"), 2).endswith("        m:\n            k: 2\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config:\n  ai-platform:api: {domain_name: a.b.c}\n", "`ai-platform:api` is written inline"),
        ("config:\n  ai-platform:api:\n    image: {tag: x}\n", "`ai-platform:api.image` is written inline"),
        ("config:\n  ai-platform:api:\n    maintenance_mode: [1]\n", "not a single value on its key's line"),
        ("config:\n  ai-platform:api:\n    maintenance_mode: |\n      x\n", "not a single value on its key's line"),
        ("config: [\n", "not valid YAML"),
    ],
)
def test_what_cannot_be_edited_in_place_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(StackEditError, match=message):
        set_value(text, "ai-platform:api", ("maintenance_mode",) if "image" not in text else ("image", "tag"), True)


def test_the_maintenance_flag_refuses_an_inline_or_missing_api_section() -> None:
    with pytest.raises(StepError, match="written inline"):
        set_flag("config:\n  aws:region: us-east-1\n  ai-platform:api: {domain_name: a.b.c}\n", True)
    with pytest.raises(StepError, match="no `ai-platform:api:` section: maintenance mode needs the ai-api"):
        set_flag("config:\n  aws:region: us-east-1\n", True)
