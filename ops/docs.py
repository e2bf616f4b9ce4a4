"""`python -m ops docs`: the generated references, written from the code they describe so that they cannot drift.

- docs/configuration.md: every key a stack file may set, from the `config` models (types, bounds, descriptions) and
  the environment profiles (the dev / staging / prod defaults);
- docs/outputs.md: every stack output, from `OUTPUTS` in components/outputs.py;
- docs/policies.md: the policy rules, from the rule registry (`ops.gate.render_docs`).

`--check` writes nothing and exits 1 naming each stale document (tests/test_docs.py does the same).
"""

from __future__ import annotations

import argparse
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from config import ENVIRONMENTS, PROJECT, SECTIONS, StackConfig, environment_defaults
from config.allowed import allowed_field as _allowed_field
from config.allowed import nested_model as _nested_model
from config.allowed import number as _number
from config.allowed import unwrap_optional as _unwrap_optional
from config.loader import model_defaults
from ops import gate
from ops.engine import PROJECT_DIR

COMMAND = "python -m ops docs"
CONFIGURATION_PATH = PROJECT_DIR / "docs" / "configuration.md"
OUTPUTS_PATH = PROJECT_DIR / "docs" / "outputs.md"
_MISSING: Any = object()  # a key without a default (it must be set)
_YAML_WORDS = ("true", "false", "null", "yes", "no", "on", "off")


def documents() -> dict[Path, Callable[[], str]]:
    """Every generated document and the function that renders it."""
    return {CONFIGURATION_PATH: render_configuration, OUTPUTS_PATH: render_outputs, gate.DOCS_PATH: gate.render_docs}


def stale_documents() -> list[Path]:
    """The generated documents whose file is missing or differs from what the code renders now."""
    return [path for path, render in documents().items() if not path.is_file() or path.read_text() != render()]


def write_documents() -> list[Path]:
    """Render every document; write (and return) those that changed."""
    written = []
    for path, render in documents().items():
        text = render()
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
    return written


def generated_note(source: str) -> str:
    return f"Generated from {source} by `{COMMAND}`; a test fails when it is stale."


# --- docs/outputs.md -----------------------------------------------------------------------------------------------


def render_outputs() -> str:
    """docs/outputs.md from the `OUTPUTS` table the platform exports by."""
    from components.outputs import OUTPUTS

    lines = [
        "# Stack outputs",
        "",
        generated_note("`OUTPUTS` in `components/outputs.py`"),
        "",
        "Read one with `pulumi stack output <name>` (`--show-secrets` for a secret one), or all of them with "
        "`pulumi stack output --json`.",
        "",
        "| output | description |",
        "|---|---|",
        *(f"| `{name}` | {_cell(text)} |" for name, text in OUTPUTS.items()),
    ]
    return "\n".join(lines) + "\n"


# --- docs/configuration.md -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One key of the configuration reference."""

    key: str
    defaults: tuple[str, ...]  # per environment, in ENVIRONMENTS order
    allowed: str
    description: str

    def render(self) -> str:
        cells = (f"`{self.key}`", *self.defaults, self.allowed, self.description)
        return "| " + " | ".join(_cell(c) for c in cells) + " |"


# The defaults one key has in one environment: the value every instance gets (label None) and, for keys under a
# map such as node_groups, the value of each entry the defaults name (label "system").
Variants = list[tuple[str | None, Any]]


def render_configuration() -> str:
    """docs/configuration.md from the section models and the environment profiles."""
    per_env = {env: environment_defaults(env) for env in ENVIRONMENTS}
    lines = [
        "# Configuration reference",
        "",
        generated_note("the `config` models and `config/profiles.py`"),
        "",
        "Every key a stack file (`Pulumi.<stack>.yaml`, under `config:`) may set. The dev, staging and prod columns "
        "are each environment's default: the models' defaults are production's, and `config/profiles.py` lists "
        "where dev and staging depart from them. A key the stack file sets wins over its default. A dotted key is "
        "a nested map in YAML (`ai-platform:api.hpa.max_replicas` is `max_replicas` under `hpa:` under "
        "`ai-platform:api:`); `<name>` is a key you choose; `[]` stands for each item of a list. How to change a key "
        "and read an error: the README's [Configuration](../README.md#configuration) section.",
        "",
        "## Stack-wide keys",
        "",
        f"| key | {' | '.join(ENVIRONMENTS)} | allowed | description |",
        "|---|" + "---|" * (len(ENVIRONMENTS) + 2),
    ]
    for key, field_name in (("aws:region", "region"), (f"{PROJECT}:environment", "environment"),
                            (f"{PROJECT}:tags", "tags")):  # fmt: skip
        field = StackConfig.model_fields[field_name]
        description = re.sub(r"^`[^`]+`: ", "", field.description or "")
        required = ("required",) * len(ENVIRONMENTS)
        lines.append(Row(key, required, _allowed_field(field), _sentence(description, capital=True)).render())
    lines += ["", "## Sections", ""]
    for section, model in SECTIONS.items():
        intro = re.sub(r"^`[^`]+`: ", "", inspect.cleandoc(model.__doc__ or ""))
        lines += [f"### {PROJECT}:{section}", "", _sentence(intro, capital=True), ""]
        lines += [f"| key | {' | '.join(ENVIRONMENTS)} | allowed | description |", "|---|" + "---|" * 5]
        variants: dict[str, list[tuple[str | None, Any]]] = {
            env: [(None, per_env[env][section])] for env in ENVIRONMENTS
        }
        lines += [row.render() for row in _rows(model, "", variants)]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _rows(model: type[BaseModel], prefix: str, variants: dict[str, Variants]) -> Iterator[Row]:
    """The rows of `model`'s keys, recursing into nested sections, maps of sections and lists of sections."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        below = {env: [(label, _get(tree, name)) for label, tree in vs] for env, vs in variants.items()}
        annotation = _unwrap_optional(field.annotation)
        nested, container = _nested_model(annotation)
        if nested is not None and container is None:
            # A nested section: its keys, with its own defaults where the parent has none (api.image).
            own = model_defaults(nested)
            yield from _rows(nested, f"{key}.", {
                env: [(label, own if value is _MISSING else value) for label, value in vs] for env, vs in below.items()
            })  # fmt: skip
            continue
        entries: dict[str, Variants] = {}
        if nested is not None:
            # Map of sections (node_groups.<name>) or list of sections (taints[]): a new entry starts from the
            # item model's defaults; a map entry the defaults themselves name is shown beside them.
            own = model_defaults(nested)
            for env, vs in below.items():
                named = [(label, v) for _, tree in vs if container is dict and isinstance(tree, Mapping)
                         for label, v in tree.items()]  # fmt: skip
                entries[env] = [(None, own), *named]
        if container is dict:  # the map's row shows the names of its default entries
            below = {env: [(label, list(v) if isinstance(v, Mapping) else v) for label, v in vs]
                     for env, vs in below.items()}  # fmt: skip
        yield _leaf(key, field, below)
        if nested is not None:
            marker = "<name>" if container is dict else "[]"
            yield from _rows(nested, f"{key}.{marker}." if container is dict else f"{key}{marker}.", entries)


def _leaf(key: str, field: FieldInfo, variants: dict[str, Variants]) -> Row:
    cells = tuple(_default_cell(variants[env]) for env in ENVIRONMENTS)
    return Row(key, cells, _allowed_field(field), _sentence(field.description or ""))


def _default_cell(variants: Variants) -> str:
    (_, value), *named = variants
    text = _value(value)
    extra = [f"`{label}`: {_value(v)}" for label, v in named if v != value]
    return f"{text} ({'; '.join(extra)})" if extra else text


def _get(tree: Any, name: str) -> Any:
    return tree.get(name, _MISSING) if isinstance(tree, Mapping) else _MISSING


# --- formatting -----------------------------------------------------------------------------------------------------


def _value(value: Any) -> str:
    """A default as a table cell: numbers and booleans bare, anything else as YAML in backticks."""
    if value is _MISSING:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return _number(value)
    return f"`{_flow(value)}`"


def _flow(value: Any) -> str:
    """YAML flow style (`[a, b]`, `{k: v}`) for a default value."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return _number(value)
    text = str(value)
    if not text or text.lower() in _YAML_WORDS or re.fullmatch(r"[-+.\d]+", text):
        return f'"{text}"'  # text YAML would read as another type
    return text


def _sentence(text: str, capital: bool = False) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] if capital else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# --- command --------------------------------------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("docs", help="regenerate docs/configuration.md, docs/outputs.md, docs/policies.md")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a document is stale")
    parser.set_defaults(handler=run)


def check() -> int:
    """`--check`: 1 naming each stale document, 0 when all are fresh; writes nothing."""
    stale = stale_documents()
    for path in stale:
        print(f"{path.relative_to(PROJECT_DIR)} is stale: run `{COMMAND}`")
    if not stale:
        print(f"{len(documents())} generated documents are up to date")
    return 1 if stale else 0


def run(args: argparse.Namespace) -> int:
    if args.check:
        return check()
    written = write_documents()
    for path in written:
        print(f"wrote {path.relative_to(PROJECT_DIR)}")
    print(f"{len(documents())} generated documents, {len(written)} rewritten")
    return 0
