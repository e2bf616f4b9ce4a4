"""`python -m ops plan`: the tree, the JSON plan, and clean errors for a bad stack file."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ops.engine import PROJECT_DIR, Plan


def run_ops(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_plan_with_gate_prints_the_tree_writes_the_json_then_gates_that_plan(tmp_path: Path) -> None:
    """`make plan`'s one build: the component tree with counts per type, the JSON of the recorded plan, then the
    gate's table and summary; the exit status is the gate's."""
    out = tmp_path / "plan.json"
    result = run_ops("plan", "--stack", "prod", "--gate", "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    tree_end = next(i for i, line in enumerate(lines) if line.startswith("stack prod: "))
    assert lines[0] == "ai-platform:platform:Platform prod"
    assert lines[-1].startswith("gate PASS: stack prod (environment prod): ")
    assert tree_end < len(lines) - 1
    assert "  ai-platform:network:Network prod-network" in result.stdout
    assert "- aws:ec2/natGateway:NatGateway x3" in result.stdout
    assert "  ai-platform:network:Network prod-dr-network" in result.stdout  # the warm standby's
    data = json.loads(out.read_text())
    assert isinstance(data, list)
    assert data
    for item in data:
        assert {"urn", "type", "name", "parent", "inputs", "dependencies", "protect", "retainOnDelete"} <= set(item)
    plan = Plan.from_json("prod", data)
    nat = [r for r in plan.by_type("aws:ec2/natGateway:NatGateway") if not r.name.startswith("prod-dr-")]
    assert len(nat) == 3


def test_dev_plan_as_a_first_preview_records_unknowns_shows_one_nat_and_passes_the_gate(tmp_path: Path) -> None:
    out = tmp_path / "preview.json"
    result = run_ops("plan", "--stack", "dev", "--preview", "--gate", "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "- aws:ec2/natGateway:NatGateway x1" in result.stdout
    assert "gate PASS: stack dev (environment dev, as a first preview): " in result.stdout.splitlines()[-1]
    plan = Plan.from_json("dev", json.loads(out.read_text()))
    assert {s.inputs["vpcId"] for s in plan.by_type("aws:ec2/subnet:Subnet")} == {"[unknown]"}


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the project's program files, so a broken stack file never touches the real ones."""
    for item in ("Pulumi.yaml", "__main__.py", "components", "config", "lambdas", "lib", "ops", "policy", "db"):
        source = PROJECT_DIR / item
        if source.is_dir():
            shutil.copytree(source, tmp_path / item, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy(source, tmp_path / item)
    return tmp_path


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [("10.10.0.0/33", "is not an IPv4 network"), ("11.0.0.0/16", "is not a private range")],
)
def test_bad_cidr_exits_2_naming_file_and_key_without_traceback(project_copy: Path, cidr: str, expected: str) -> None:
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace("10.10.0.0/16", cidr)
    (project_copy / "Pulumi.broken.yaml").write_text(text.replace("environment: dev", "environment: dev"))
    result = run_ops("plan", "--stack", "broken", cwd=project_copy)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = [line.strip() for line in result.stderr.splitlines() if "ai-platform:network" in line]
    assert line.startswith("Pulumi.broken.yaml: ai-platform:network.cidr: ")
    assert expected in line
    assert "; allowed: " in line


def test_plan_with_gate_exits_1_when_a_mandatory_rule_fails(project_copy: Path) -> None:
    text = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    unsafe = text.replace("  ai-platform:network:\n", "  ai-platform:database:\n    deletion_protection: false\n"
                          "  ai-platform:network:\n")  # fmt: skip
    assert unsafe != text
    (project_copy / "Pulumi.unsafe.yaml").write_text(unsafe)
    result = run_ops("plan", "--stack", "unsafe", "--gate", cwd=project_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stack unsafe: " in result.stdout  # the tree came first
    assert "rds-deletion-protection" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("gate FAIL: stack unsafe (environment prod): ")


def test_unknown_stack_exits_2_listing_the_stacks() -> None:
    result = run_ops("plan", "--stack", "nope")
    assert result.returncode == 2
    assert "Pulumi.nope.yaml: no such stack file; allowed stacks: dev, prod, staging" in result.stderr


_DEV = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"config:\n  ai-platform:environment: d\xe9v\n", ["Pulumi.broken.yaml: config: not UTF-8 text"]),
        (b"\x00\x01binary", ["Pulumi.broken.yaml: config: binary content"]),
        (b"config:\n  aws:region: [us-east-1\n", ["Pulumi.broken.yaml: config: not valid YAML (line 3, column 1"]),
        (b"config:\n  aws:region: us-east-1\n  x: " + b"[" * 10_000 + b"]" * 10_000,
         ["Pulumi.broken.yaml: config: nested more than 100 levels deep"]),
        ((_DEV + "  ai-platfrom:network:\n    cidr: 10.0.0.0/16\n  network:\n    az_count: yes\n").encode(),
         ["Pulumi.broken.yaml: ai-platform:network: set twice", "Pulumi.broken.yaml: ai-platfrom:network: unknown "
          "namespace ai-platfrom (did you mean ai-platform:network?)"]),
        (_DEV.replace("cidr: 10.10.0.0/16", "cidr: 10.10.0.0/16\n    az_count: 2.0").encode(),
         ["Pulumi.broken.yaml: ai-platform:network.az_count: 2.0 is not a whole number (write 2); allowed: integer"]),
    ],
    ids=["not-utf8", "binary", "not-yaml", "10000-levels", "namespaces", "float-count"],
)  # fmt: skip
def test_a_bad_stack_file_exits_2_with_one_line_per_problem(project_copy: Path, content: bytes, expected) -> None:
    (project_copy / "Pulumi.broken.yaml").write_bytes(content)
    result = run_ops("plan", "--stack", "broken", cwd=project_copy)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    header, *lines = result.stderr.strip().splitlines()
    assert header == "error: invalid stack configuration:"
    assert len(lines) == len(expected)
    for line, start in zip(sorted(line.strip() for line in lines), sorted(expected), strict=True):
        assert line.startswith(start), line
        assert "; allowed: " in line


def test_a_closed_pipe_ends_the_output_quietly() -> None:
    """`python -m ops policies | head -1`: the reader closes the pipe before the output (over one buffer) is
    written; no traceback follows."""
    result = subprocess.run(
        f"{shlex.quote(sys.executable)} -m ops policies | head -1",
        shell=True,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr
