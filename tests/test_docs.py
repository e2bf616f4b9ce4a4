"""The generated references stay true: every document is fresh, and the stack outputs are exactly the table's."""

from __future__ import annotations

import pytest

from components.outputs import API_ONLY, OUTPUTS
from ops import docs
from ops.engine import PROJECT_DIR, read_stack_config, run_program
from tests.conftest import STACKS, build_plan


@pytest.mark.parametrize("path", list(docs.documents()), ids=lambda path: path.name)
def test_generated_document_is_fresh(path) -> None:
    name = path.relative_to(PROJECT_DIR)
    assert path.is_file(), f"{name} is missing: run `{docs.COMMAND}`"
    assert path.read_text() == docs.documents()[path](), f"{name} is stale: run `{docs.COMMAND}`"


def test_check_names_each_stale_document_and_exits_1(tmp_path, monkeypatch, capsys) -> None:
    stale = tmp_path / "outputs.md"
    stale.write_text("old\n")
    monkeypatch.setattr(docs, "OUTPUTS_PATH", stale)
    monkeypatch.setattr(docs, "PROJECT_DIR", tmp_path.parent)
    monkeypatch.setattr(docs, "documents", lambda: {stale: docs.render_outputs})
    assert docs.check() == 1
    assert f"{tmp_path.name}/outputs.md is stale: run `python -m ops docs`" in capsys.readouterr().out
    stale.write_text(docs.render_outputs())
    assert docs.check() == 0


def test_every_output_has_a_description() -> None:
    assert all(text.strip().endswith(".") for text in OUTPUTS.values())


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_exports_exactly_the_outputs_table(stack: str) -> None:
    assert set(build_plan(stack).outputs) == set(OUTPUTS)


def test_without_the_api_section_only_the_ai_api_outputs_are_absent() -> None:
    raw = {key: value for key, value in read_stack_config("dev").items() if key != "ai-platform:api"}
    exported = set(run_program("dev", raw).outputs)
    assert set(OUTPUTS) - exported == {name for name, text in OUTPUTS.items() if text.startswith(API_ONLY)}
    assert exported <= set(OUTPUTS)
