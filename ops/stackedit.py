"""Setting one value in `Pulumi.<stack>.yaml` the way a person would: that line changes, every other byte stays.

`pulumi config set` (and a YAML round-trip) rewrites the whole file and may drop or move comments; the commands
that record a release, switch maintenance mode or declare the DR region edit the file in place instead:

- the file is parsed with the project's own YAML loader (`config.stackfile.StackYamlLoader`) only to find where
  a key's value starts and ends; that span is replaced, or, when the key (or its whole section) is absent, its lines
  are added after the last entry of the map that holds it, indented like that map's keys;
- a value is written plain when the loader reads it back as the same value, otherwise double-quoted;
- the result is re-parsed and must equal the old config with that one change, and a file is only replaced (never
  left half-written) once `read_stack_file` and `load_stack_config` accept the result.

A map written inline (`ai-platform:api: {...}`) is refused rather than rewritten: its layout is the person's.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from config import load_stack_config
from config.stackfile import StackYamlLoader, read_stack_file

Scalar = str | bool | int | float


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Final = _Delete()
"""The value that removes a key (its line) instead of setting it."""


class StackEditError(Exception):
    """The stack file cannot be edited in place (inline map, a map where a value is wanted, unparsable result)."""


def set_value(text: str, section: str, path: Sequence[str], value: Scalar | _Delete, *, source: str = "") -> str:
    """`text` (a stack file) with `config.<section>.<path...>` set to `value` (or removed for DELETE), missing maps
    created, every other line byte-identical. StackEditError when that cannot be done without changing more."""
    keys = ("config", section, *path)
    where = f"{source or 'the stack file'}: `{section}.{'.'.join(path)}`"
    lines = text.splitlines(keepends=True)
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=StackYamlLoader)
    except yaml.YAMLError as error:
        raise StackEditError(f"{where}: the file is not valid YAML ({' '.join(str(error).split())[:200]})") from None
    if not isinstance(node, yaml.MappingNode):
        raise StackEditError(f"{where}: the file is not a map with a `config:` key")
    step = 2
    for depth, key in enumerate(keys):
        if not isinstance(node, yaml.MappingNode) or node.flow_style:
            raise StackEditError(f"{where}: `{'.'.join(keys[1:depth]) or 'config'}` is written inline or is not a "
                                 "map; write it as a block map (one `key: value` per line) to edit it")  # fmt: skip
        entry = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        if entry is None:
            if isinstance(value, _Delete):
                return text
            _insert(lines, node, keys[depth:], value, step)
            break
        key_node, child = entry
        if depth == len(keys) - 1:
            _replace(lines, key_node, child, value, where)
            break
        if _is_empty(child):  # `image:` with nothing under it: an empty map to fill
            if isinstance(value, _Delete):
                return text
            _insert_under(lines, key_node, keys[depth + 1 :], value, step)
            break
        if isinstance(child, yaml.MappingNode) and child.value and not child.flow_style:
            step = max(1, child.value[0][0].start_mark.column - key_node.start_mark.column)
        node = child
    result = "".join(lines)
    _check(text, result, keys, value, where)
    return result


def update_file(path: Path, section: str, changes: Mapping[tuple[str, ...], Any], *, stack: str | None = None) -> bool:
    """Apply `changes` (key path under `section` -> value or DELETE) to the stack file at `path`, which is replaced
    only when the result loads as the stack's config (StackConfigError otherwise, the file untouched). False when
    nothing changed. `stack` defaults to the name in `Pulumi.<stack>.yaml`."""
    stack = stack or path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    original = path.read_text()
    text = original
    for keys, value in changes.items():
        text = set_value(text, section, keys, value, source=path.name)
    if text == original:
        return False
    candidate = path.with_name(f".{path.name}.edit")
    candidate.write_text(text)
    try:
        load_stack_config(stack, read_stack_file(candidate), source=path.name)
        candidate.replace(path)  # atomic: the file is either the old or the new one
    finally:
        candidate.unlink(missing_ok=True)
    return True


def render(value: Scalar) -> str:
    """`value` as YAML text the project's loader reads back as the same value: plain when it can be, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise TypeError(f"a stack file value here is text, a number or true/false, not {type(value).__name__}")
    plain = str(value)
    if "\n" not in plain and _reads_back(plain, value):
        return plain
    if not isinstance(value, str):
        raise StackEditError(f"{value!r} cannot be written so that it reads back the same")
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _reads_back(text: str, value: Scalar) -> bool:
    """Whether `text`, written plain after a key, is read back by the project's loader as `value` (text that is not
    YAML at all, e.g. `a: b: c`, is not)."""
    try:
        return bool(yaml.load(f"k: {text}\n", Loader=StackYamlLoader) == {"k": value})  # noqa: S506 - a SafeLoader
    except yaml.YAMLError:
        return False


def _is_empty(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null" and node.value == ""


def _last_line(node: yaml.Node) -> int:
    """The index of the last line a block node's text occupies (a nested block map: its last entry's)."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1])
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def _new_lines(keys: Sequence[str], value: Scalar, indent: int, step: int) -> list[str]:
    *maps, last = keys
    lines = [f"{' ' * (indent + step * depth)}{render(key)}:\n" for depth, key in enumerate(maps)]
    return [*lines, f"{' ' * (indent + step * len(maps))}{render(last)}: {render(value)}\n"]


def _insert_at(lines: list[str], index: int, new: list[str]) -> None:
    if index > 0 and not lines[index - 1].endswith("\n"):
        lines[index - 1] += "\n"
    lines[index:index] = new


def _insert(lines: list[str], mapping: yaml.MappingNode, keys: Sequence[str], value: Scalar, step: int) -> None:
    """Add `keys: value` (and the maps above it) after the last entry of the block map `mapping`."""
    indent = mapping.value[0][0].start_mark.column if mapping.value else 0
    _insert_at(lines, _last_line(mapping) + 1, _new_lines(keys, value, indent, step))


def _insert_under(lines: list[str], key: yaml.Node, keys: Sequence[str], value: Scalar, step: int) -> None:
    """Fill the empty map of `key:` with `keys: value`."""
    _insert_at(lines, key.start_mark.line + 1, _new_lines(keys, value, key.start_mark.column + step, step))


def _replace(lines: list[str], key: yaml.Node, node: yaml.Node, value: Scalar | _Delete, where: str) -> None:
    """Replace the value text of `key: node` (a single value on one line), or delete the key's line."""
    row = key.start_mark.line
    if _is_empty(node):  # `key:` with nothing after it (a comment at most)
        if not isinstance(value, _Delete):
            colon = lines[row].index(":", key.end_mark.column) + 1
            lines[row] = f"{lines[row][:colon]} {render(value)}{lines[row][colon:]}"
            return
    elif not isinstance(node, yaml.ScalarNode) or not row == node.start_mark.line == node.end_mark.line:
        raise StackEditError(f"{where} is not a single value on its key's line; edit it by hand")
    if isinstance(value, _Delete):
        del lines[row]
        return
    start, end = node.start_mark.column, node.end_mark.column
    lines[row] = lines[row][:start] + render(value) + lines[row][end:]


def _check(before: str, after: str, keys: Sequence[str], value: Scalar | _Delete, where: str) -> None:
    """The edit changed that one value and nothing else, as the project's loader reads the file."""
    try:
        expected: Any = copy.deepcopy(yaml.load(before, Loader=StackYamlLoader))  # noqa: S506
        got = yaml.load(after, Loader=StackYamlLoader)  # noqa: S506
    except yaml.YAMLError as error:
        raise StackEditError(f"{where}: the edit would not read back ({' '.join(str(error).split())[:200]})") from None
    target = expected
    for key in keys[:-1]:
        if target.get(key) is None:
            target[key] = {}
        target = target[key]
        if not isinstance(target, dict):
            raise StackEditError(f"{where}: `{key}` holds a single value, not a map")
    if isinstance(value, _Delete):
        target.pop(keys[-1], None)
    else:
        target[keys[-1]] = value
    if got != expected:
        raise StackEditError(f"{where}: could not be set without changing anything else in the file")
