"""Reading `Pulumi.<stack>.yaml` the way the Pulumi CLI does, or refusing it with one `StackConfigError` line.

The CLI (Go, yaml.v3) reads UTF-8 (a byte-order mark is dropped), refuses a key repeated in one mapping, and reads
plain scalars by YAML 1.2: only true/false are booleans (yes, no, on, off stay text), dates stay text, `1:30` is
text. PyYAML's SafeLoader follows YAML 1.1 on all of these, so the offline loader would see a different stack; the
loader below reads them as the CLI does. A file that is not UTF-8, binary, not YAML, nested deeper than the YAML
reader can follow, or without a `config:` map is one line naming the file and what a stack file must be.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from config.errors import StackConfigError
from config.keys import key_text, plain, shape_problem

STACK_FILE_SHAPE = (
    "a UTF-8 YAML document with a `config:` map of `<namespace>:<key>: value` entries "
    "(aws:region, ai-platform:environment, ai-platform:tags, ai-platform:<section>)"
)
# Deeper than any stack file needs (no setting is more than 6 levels deep), far below what PyYAML can follow.
MAX_FLOW_DEPTH = 100
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0[0-7]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")  # fmt: skip
_REPLACED = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
             "tag:yaml.org,2002:timestamp")  # fmt: skip


class StackYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 plain scalars (as Go's yaml.v3 resolves them) and no repeated mapping keys."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], yaml.Mark] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key_node.value!r} is repeated (first at line {seen[key].line + 1})",
                        key_node.start_mark,
                    )  # fmt: skip
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


StackYamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
StackYamlLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
StackYamlLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `config:` map of the stack file at `path`, as objects; `StackConfigError` when it is not a stack file."""

    def refuse(what: str) -> StackConfigError:
        return StackConfigError([f"{path.name}: config: {what}; allowed: {STACK_FILE_SHAPE}"])

    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise refuse(f"binary content (a NUL byte at offset {nul})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise refuse(f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})") from None
    if _flow_depth(text) > MAX_FLOW_DEPTH:  # PyYAML takes quadratic time on deep [[[[ before it gives up
        raise refuse(f"nested more than {MAX_FLOW_DEPTH} levels deep")
    try:
        document = yaml.load(text, Loader=StackYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise refuse(f"not valid YAML ({_yaml_problem(error)})") from None
    except (ValueError, TypeError) as error:  # a scalar its tag cannot hold (!!int x, !!binary with bad base64)
        raise refuse(f"not valid YAML ({' '.join(str(error).split())[:200]})") from None
    except RecursionError:
        raise refuse("nested too deep for a YAML reader to follow") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise refuse(f"the document is {_kind(document)}, not a map with a `config:` key")
    if "config" not in document:
        raise refuse("no `config:` key")
    config = document["config"]
    if not isinstance(config, dict):
        raise refuse(f"`config:` is {_kind(config)}, not a map")
    return _as_json_data(config, path.name)


def _as_json_data(config: dict[Any, Any], source: str) -> dict[str, Any]:
    """Every value as the JSON data Pulumi hands a program (YAML-only types become text), after refusing values
    too deep or too large (aliases can make a small file hold billions of values)."""
    problems, data = [], {}
    for key, value in config.items():
        name = key if isinstance(key, str) else json.dumps(plain(key))
        shape = shape_problem(value)
        if shape is None:
            data[name] = plain(value)
        else:
            problems.append(f"{source}: {key_text(name)}: {shape}")
    if problems:
        raise StackConfigError(problems)
    return data


def _flow_depth(text: str) -> int:
    """The deepest nesting of YAML flow collections (`[`, `{`) outside quotes and comments, roughly: enough to
    refuse absurd nesting before the YAML reader spends minutes on it."""
    depth = deepest = 0
    quote = ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote and text[index - 1 : index] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t\n"):
            quote = "\n"  # a comment runs to the end of its line
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error on one line: where (line, column) and what."""
    mark = getattr(error, "problem_mark", None)
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + problem[:200]


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else f"a single value ({value!r})"[:80]
