"""The configuration docs stay true: every key a stack may set is in docs/configuration.md (and nothing else is),
the README's guide links to the generated references, and the keys its prose names exist."""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from config import PROJECT, SECTIONS
from ops.engine import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text()
REFERENCE = (PROJECT_DIR / "docs" / "configuration.md").read_text()


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def key_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of every key a user can set: nested sections are walked; a map of sections is one key plus
    `<key>.<name>.<field>` rows, a list of sections one key plus `<key>[].<field>` rows."""
    paths = []
    for name, field in model.model_fields.items():
        nested, origin = _model_of(field.annotation), get_origin(field.annotation)
        if nested is not None and origin not in (dict, tuple):
            paths.extend(key_paths(nested, f"{prefix}{name}."))
            continue
        paths.append(f"{prefix}{name}")
        if nested is not None:
            paths.extend(key_paths(nested, f"{prefix}{name}.<name>." if origin is dict else f"{prefix}{name}[]."))
    return paths


def reference_keys(section: str) -> list[str]:
    """The keys (first column) of the `### ai-platform:<section>` table of docs/configuration.md."""
    match = re.search(rf"^### {PROJECT}:{section}\n(.*?)(?=^#|\Z)", REFERENCE, re.S | re.M)
    assert match, f"docs/configuration.md has no '### {PROJECT}:{section}' section"
    return re.findall(r"^\| `([^`]+)` \|", match.group(1), re.M)


@pytest.mark.parametrize("section", list(SECTIONS))
def test_every_config_key_is_in_the_reference_and_nothing_else(section: str) -> None:
    documented, keys = reference_keys(section), key_paths(SECTIONS[section])
    assert sorted(documented) == sorted(keys), f"docs/configuration.md {section}: run `python -m ops docs`"


def test_stack_wide_keys_are_in_the_reference() -> None:
    for key in ("aws:region", f"{PROJECT}:environment", f"{PROJECT}:tags"):
        assert f"| `{key}` |" in REFERENCE


def test_the_readme_links_to_the_generated_references() -> None:
    guide = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    for document in ("docs/configuration.md", "docs/outputs.md"):
        assert f"]({document})" in guide, f"the README's Configuration guide does not link to {document}"
        assert (PROJECT_DIR / document).is_file()


def _has_key(model: type[BaseModel], path: list[str]) -> bool:
    head, *rest = path
    if head not in model.model_fields:
        return False
    if not rest:
        return True
    annotation = model.model_fields[head].annotation
    nested = _model_of(annotation)
    if nested is None:
        return False
    if get_origin(annotation) is dict:  # node_groups.<name>.<field>
        return len(rest) > 1 and _has_key(nested, rest[1:])
    return _has_key(nested, rest)


def test_keys_the_readme_names_exist() -> None:
    prose = re.sub(r"^```.*?^```", "", README, flags=re.S | re.M)  # examples may show a wrong key on purpose
    named = set(re.findall(rf"{PROJECT}:(\w+)\.([\w.]*\w)", prose))
    assert named, "the README names no ai-platform:<section>.<key>"
    missing = [f"{section}.{key}" for section, key in sorted(named)
               if section not in SECTIONS or not _has_key(SECTIONS[section], key.split("."))]  # fmt: skip
    assert not missing, f"README names keys the config does not have: {missing}"


def test_readme_sections_the_repository_refers_to_exist() -> None:
    """Comments such as `README "ai-platform:cluster"` (stack files, code) name a README heading."""
    headings = set(re.findall(r"^#+ (.+)$", README, re.M))
    patterns = ("Pulumi.*.yaml", "components/*.py", "config/*.py")
    sources = [path for pattern in patterns for path in PROJECT_DIR.glob(pattern)]
    cited = {
        (path.name, title) for path in sources for title in re.findall(r"README(?:'s)? \"([^\"]+)\"", path.read_text())
    }
    assert cited
    missing = sorted(f"{name}: {title}" for name, title in cited if title not in headings)
    assert not missing, f"README headings referred to but absent: {missing}"
