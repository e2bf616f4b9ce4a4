"""The README stays true: every key a stack file may set is documented in its section's table, and back."""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from config import PROJECT, StackConfig
from ops.engine import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text()
SECTIONS = sorted(set(StackConfig.model_fields) - {"stack", "environment", "region", "tags"})


def _model_of(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def key_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of every key a user can set; maps (node groups, flags) and lists count as one key."""
    paths = []
    for field_name, field in model.model_fields.items():
        nested = _model_of(field.annotation)
        if nested is not None and get_origin(field.annotation) is not dict:
            paths.extend(key_paths(nested, f"{prefix}{field_name}."))
        else:
            paths.append(f"{prefix}{field_name}")
    return paths


def documented_keys(section: str) -> set[str]:
    """Backticked keys in the first cell of each row of the `### ai-platform:<section>` table.

    `a.b` / `.c` abbreviations are expanded (`.c` -> `a.c`), as the tables write them.
    """
    match = re.search(rf"^### {PROJECT}:{section}\n(.*?)(?=^#)", README + "\n#", re.S | re.M)
    assert match, f"README has no '### {PROJECT}:{section}' section"
    keys: set[str] = set()
    for line in match.group(1).splitlines():
        if not line.startswith("| `"):
            continue
        previous = ""
        for token in re.findall(r"`([^`]+)`", line.split("|")[1]):
            if token.startswith(".") and previous:
                token = previous.rsplit(".", 1)[0] + token
            keys.add(token)
            previous = token
    return keys


def _is_documented(path: str, documented: set[str]) -> bool:
    for key in documented:
        pattern = re.escape(key).replace(r"<", "<").replace(r">", ">")
        pattern = re.sub(r"<[^>]+>", r"[^.]+", pattern)
        if re.fullmatch(pattern, path) or path.startswith(key + ".") or key.startswith(path + "."):
            return True
    return False


@pytest.mark.parametrize("section", SECTIONS)
def test_every_config_key_is_in_its_readme_table(section: str) -> None:
    model = _model_of(StackConfig.model_fields[section].annotation)
    assert model is not None
    documented = documented_keys(section)
    missing = [path for path in key_paths(model) if not _is_documented(path, documented)]
    assert not missing, f"README '### {PROJECT}:{section}' lacks rows for: {missing}"


@pytest.mark.parametrize("section", SECTIONS)
def test_every_readme_row_is_a_real_config_key(section: str) -> None:
    model = _model_of(StackConfig.model_fields[section].annotation)
    assert model is not None
    paths = key_paths(model)
    stale = [key for key in documented_keys(section) if not any(_is_documented(p, {key}) for p in paths)]
    assert not stale, f"README '### {PROJECT}:{section}' documents keys the config does not have: {stale}"


def test_stack_wide_keys_are_documented() -> None:
    for key in ("aws:region", f"{PROJECT}:environment", f"{PROJECT}:tags"):
        assert f"| `{key}` |" in README
