"""The policy pack over the analyzer protocol, started exactly as the Pulumi CLI starts a Python pack.

The CLI runs `pulumi-analyzer-policy-python <engine> . -virtualenv=.venv` in the pack's directory; that shim runs
`<pack>/.venv/bin/python -u -m pulumi.policy <engine> .`, which prints the gRPC port. Here the virtualenv is built by
`make policy-venv` from policy/requirements.lock (as the workflows do), the pack started with that command, and the
CLI's calls made with the SDK's analyzer stubs: GetAnalyzerInfo lists the policies, Analyze judges a resource.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from ops.engine import PROJECT_DIR
from policy.rules import RULES

POLICY_DIR = PROJECT_DIR / "policy"
KMS_KEY = "aws:kms/key:Key"


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed (the README's prerequisites)")
    built = subprocess.run(
        ["make", "--no-print-directory", "policy-venv"], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        pytest.skip(f"policy/.venv cannot be built here (no PyPI?): {built.stderr[-300:]}")
    venv = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())["runtime"]["options"]["virtualenv"]
    python = POLICY_DIR / venv / "bin" / "python"
    process = subprocess.Popen(
        [str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=POLICY_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), f"the pack printed no port: {port!r} {process.stderr.read() if process.stderr else ''}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=30)


def _analyze(stub: analyzer_pb2_grpc.AnalyzerStub, props: dict[str, Any]) -> dict[str, str]:
    properties = struct_pb2.Struct()
    properties.update(props)
    request = analyzer_pb2.AnalyzeRequest(
        urn=f"urn:pulumi:prod::ai-platform::{KMS_KEY}::prod-key", type=KMS_KEY, name="prod-key", properties=properties
    )
    return {d.policyName: d.message for d in stub.Analyze(request, timeout=60).diagnostics}


def test_the_cli_lists_every_rule_of_the_registry(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)
    assert info.name == "ai-platform"
    assert {p.name for p in info.policies} == {rule.id for rule in RULES}
    assert info.supportsConfig


def test_analyze_passes_a_good_key_and_reports_a_bad_one(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    good = {"enableKeyRotation": True, "rotationPeriodInDays": 365, "deletionWindowInDays": 30}
    assert "kms-key-rotation" not in _analyze(analyzer, good)
    bad = _analyze(analyzer, {**good, "enableKeyRotation": False})
    assert "kms-key-rotation" in bad
    assert "enableKeyRotation is not true" in bad["kms-key-rotation"]
