"""Stack-file keys and raw values, read the way `pulumi up` reads them, before any model sees them.

- A key is `<namespace>:<name>`. Pulumi reads a key without a namespace as the project's (`network:` is
  `ai-platform:network:`) and the old `<namespace>:config:<name>` form as `<namespace>:<name>`; so does this loader.
  Two spellings of one key are an error (Pulumi would keep one of them, unpredictably).
- Only the project's namespace and those of the providers the program uses are accepted: a misspelt namespace
  (`ai-platfrom:network`) would otherwise be silently ignored, and with it the whole section.
- Structured values reach a program as JSON text; a value is JSON-shaped, at most `MAX_DEPTH` levels deep and at most
  `MAX_VALUES` values large, so that nothing below (merging, validation, messages) can recurse without bound.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

from config.types import PROJECT

# Namespaces of the providers the program uses; their keys are theirs to judge (aws:region is also ours).
PROVIDER_NAMESPACES: tuple[str, ...] = ("aws", "kubernetes", "eks", "pulumi")
NAMESPACES: tuple[str, ...] = (PROJECT, *PROVIDER_NAMESPACES)
ALLOWED_NAMESPACES_TEXT = f"{PROJECT}:<key> (or <key> alone), " + ", ".join(f"{n}:<key>" for n in PROVIDER_NAMESPACES)
# Deeper than any setting (the deepest, cluster.node_groups.<name>.taints[].key, is 5 levels below its section).
MAX_DEPTH = 20
MAX_VALUES = 100_000
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:/@+=%-]{1,80}")


def key_text(key: str) -> str:
    """A key as a message shows it: as written when it is plain, else quoted (never a line break, never huge)."""
    if _PLAIN_KEY.fullmatch(key):
        return key
    quoted = json.dumps(key)
    return quoted if len(quoted) <= 80 else quoted[:76] + '..."'


def qualified_keys(raw: Mapping[Any, Any], source: str, problems: list[str]) -> dict[str, Any]:
    """`raw` with every key as `<namespace>:<name>`; keys of unknown namespaces and second spellings of one key
    become `problems` (and are left out)."""
    keys: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in raw.items():
        written = key if isinstance(key, str) else json.dumps(plain(key))
        namespace, colon, name = written.partition(":")
        if not colon:
            namespace, name = PROJECT, written
        elif name.startswith("config:") and name.count(":") == 1:
            name = name.removeprefix("config:")
        qualified = f"{namespace}:{name}"
        if namespace not in NAMESPACES:
            near = difflib.get_close_matches(namespace, NAMESPACES, n=1)
            hint = f" (did you mean {near[0]}:{name}?)" if near else ""
            problems.append(
                f"{source}: {key_text(written)}: unknown namespace {key_text(namespace)}{hint}; "
                f"allowed: {ALLOWED_NAMESPACES_TEXT}"
            )
            continue
        if qualified in keys:
            problems.append(
                f"{source}: {key_text(qualified)}: set twice, as {key_text(spelled[qualified])} and "
                f"{key_text(written)} (Pulumi reads a key without a namespace as {PROJECT}:<key>); "
                "allowed: one of the two"
            )
            continue
        keys[qualified], spelled[qualified] = value, written
    return keys


def decode(value: Any) -> Any:
    """Pulumi hands structured config to the program as JSON text; a stack file read directly gives objects."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return value  # not JSON after all: judged as the text it is (or too deep: see `shape_problem`)
    return value


def shape_problem(value: Any) -> str | None:
    """Why `value` cannot be a setting at all (nested too deep, too large), or None. Iterative: never recurses."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return (
                f"more than {MAX_VALUES} values (a YAML alias counts each time it is used); allowed: at most "
                f"{MAX_VALUES} values under one key"
            )
        if depth > MAX_DEPTH:
            return (
                f"nested more than {MAX_DEPTH} levels deep; allowed: values nested at most {MAX_DEPTH} levels "
                "(no setting is deeper than 6)"
            )
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
    return None


def plain(value: Any) -> Any:
    """`value` as JSON data, which is how the Pulumi runtime hands config to a program: map keys become text
    (`1:` is `"1"`, `true:` is `"true"`), anything that is not JSON becomes its text. Call after `shape_problem`."""
    if isinstance(value, Mapping):
        return {_plain_key(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value  # NaN and infinities pass: the models refuse them with a message of their own
    return str(value)


def _plain_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    return str(key)


def project_values(
    keys: Mapping[str, Any],
    source: str,
    project: str,
    fixed: Mapping[str, str],
    fields: set[str],
    problems: list[str],
) -> dict[str, Any]:
    """The values of a project's own keys (`<project>:<field>`, and the `fixed` keys such as `aws:region` -> their
    field), decoded and plain; another namespace's keys are the provider's to judge. An unknown key of the project
    or a value of the wrong shape is appended to `problems` (naming `source`, the key and what is allowed)."""
    data: dict[str, Any] = {}
    for key, value in keys.items():
        namespace, _, name = key.partition(":")
        if key in fixed:
            field = fixed[key]
        elif namespace != project:
            continue  # a provider's own key (aws:profile, pulumi:tags...): the provider judges it
        elif name in fields:
            field = name
        else:
            own = sorted(fields | {f.partition(":")[2] for f in fixed if f.startswith(f"{project}:")})
            allowed = ", ".join(f"{project}:{k}" for k in own)
            problems.append(f"{source}: {key_text(key)}: unknown key; allowed: {allowed}")
            continue
        value = decode(value)
        shape = shape_problem(value)
        if shape is not None:
            problems.append(f"{source}: {key_text(key)}: {shape}")
            continue
        data[field] = plain(value)
    return data
