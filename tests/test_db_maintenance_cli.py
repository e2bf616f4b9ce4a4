"""`python -m ops db maintenance`: the dry run prints the whole sequence, bad input exits 2 with one message, and
maintenance mode is switched through the stack file without touching anything else in it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from config import load_stack_config
from config.stackfile import read_stack_file
from ops.__main__ import main
from ops.db.runner import STEPS
from ops.db.switch import StackFileSwitch, set_flag
from ops.engine import PROJECT_DIR


def test_dry_run_of_prod_prints_the_whole_sequence_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    before = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    assert main(["db", "maintenance", "--stack", "prod", "--full"]) == 0
    out = capsys.readouterr().out
    for number, (_, title) in enumerate(STEPS, start=1):
        assert f"{number:>2}. {title}" in out
    for expected in ("backup.start_backup_job(vault=<backup_vault_name>", "AuroraReplicaLag", "REINDEX INDEX "
                     "CONCURRENTLY", "VACUUM (FULL, ANALYZE)", "ACCESS EXCLUSIVE", "ALTER EXTENSION vector UPDATE",
                     "pulumi up --stack prod --target urn:pulumi:prod::ai-platform::", "<ai_api_url>/health",
                     "maintenance/database/prod/", "nothing was changed"):  # fmt: skip
        assert expected in out
    # The warm standby's Ingress reads the same flag: one targeted `pulumi up` applies both sites' Ingresses.
    up = next(line for line in out.splitlines() if "pulumi up --stack prod" in line)
    targets = re.findall(r"--target (\S+)", up)
    assert [t.rsplit("::", 1)[1] for t in targets] == ["prod-ai-api-ingress", "prod-dr-ai-api-ingress"]
    assert (PROJECT_DIR / "Pulumi.prod.yaml").read_text() == before
    assert not list(tmp_path.iterdir()), "a dry run writes no state"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stack", "nope"], "Pulumi.nope.yaml"),
        (["--stack", "dev", "--resume"], "--resume continues a failed run and acts: add --apply"),
        (["--stack", "dev", "--apply", "--outputs", "/nonexistent.json"], "--outputs /nonexistent.json"),
        (["--stack", "dev", "--bloat-threshold", "2"], "not a fraction between 0 and 1"),
        (["--stack", "dev", "--max-replica-lag-ms", "-5"], "must be greater than 0"),
    ],
)
def test_bad_input_exits_2_with_one_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ops.db.shutil.which", lambda _: None)  # no pulumi CLI here: outputs come from --outputs
    try:
        code = main(["db", "maintenance", *argv])
    except SystemExit as exit_:  # argparse's own errors
        code = int(exit_.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_apply_without_stack_outputs_is_refused(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setattr("ops.db.shutil.which", lambda _: None)
    assert main(["db", "maintenance", "--stack", "dev", "--apply"]) == 2
    assert "no outputs" in capsys.readouterr().err


def test_outputs_of_an_older_deployment_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"region": "us-east-1"}))
    assert main(["db", "maintenance", "--stack", "dev", "--apply", "--outputs", str(outputs)]) == 2
    assert "backup_role_arn" in capsys.readouterr().err


def test_the_flag_is_switched_on_and_off_in_the_stack_file() -> None:
    text = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()  # every stack and key: tests/test_stackedit.py
    on = set_flag(text, True)
    off = set_flag(on, False)
    assert off.replace("    maintenance_mode: false\n", "") == text
    assert set_flag(off, True) == on


def test_the_switch_applies_only_the_ingress_and_waits_for_the_alb(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    runs: list[list[str]] = []
    answers = iter([(200, "{}"), (503, '{"error":"maintenance"}'), (200, "{}")])

    def run(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        runs.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    switch = StackFileSwitch("dev", "https://api.dev.example.com", project_dir=tmp_path, run=run,
                             get=lambda url: next(answers), sleep=lambda _: None)  # fmt: skip
    switch._urns = ("urn:pulumi:dev::ai-platform::ai-platform:ai-api:AiApi$kubernetes:networking.k8s.io/v1:Ingress::x",)
    assert not switch.configured()
    switch.set(True)
    assert switch.configured()
    # The edited file is a valid stack file with maintenance mode on for the config model too.
    assert load_stack_config("dev", read_stack_file(stack_file)).api.maintenance_mode is True  # type: ignore[union-attr]
    assert runs == [["pulumi", "up", "--stack", "dev", "--target", switch._urns[0], "--yes", "--non-interactive"]]
    switch.set(False)
    assert not switch.configured()
