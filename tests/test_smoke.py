"""ops/smoke.py against a local stub of the ai-api: what the pipeline's smoke stage reports and decides."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.ai_api.names import HEALTH_PATH
from ops import smoke


class _Stub(BaseHTTPRequestHandler):
    """/health and POST /v1/embeddings; `behaviour` switches what they answer."""

    behaviour: dict[str, object] = {}
    calls: list[str] = []

    def _answer(self, status: int, body: object) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self.calls.append(f"GET {self.path}")
        failures = self.behaviour.get("health_failures", 0)
        if self.path == "/health" and isinstance(failures, int) and failures > 0:
            self.behaviour["health_failures"] = failures - 1
            self._answer(503, {"status": "starting"})
        else:
            self._answer(200 if self.path == "/health" else 404, {"status": "ok"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"null")
        self.calls.append(f"POST {self.path} {json.dumps(body)}")
        self._answer(int(self.behaviour.get("post_status", 200)), self.behaviour.get("post_body", {"data": [[0.1]]}))

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def stub() -> Iterator[str]:
    _Stub.behaviour = {}
    _Stub.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


FAST = ["--deadline", "3", "--timeout", "2", "--pause", "0.05"]


def test_health_path_is_the_pods_probe_path() -> None:
    assert smoke.HEALTH_PATH == HEALTH_PATH


def test_a_healthy_api_passes_both_checks(stub: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--url", stub, *FAST]) == 0
    out = capsys.readouterr().out
    assert "PASS GET /health" in out
    assert "PASS POST /v1/embeddings" in out
    assert _Stub.calls == ["GET /health", 'POST /v1/embeddings {"input": "smoke test"}']


def test_a_service_still_starting_is_retried_until_healthy(stub: str, capsys: pytest.CaptureFixture[str]) -> None:
    _Stub.behaviour["health_failures"] = 2
    assert smoke.main(["--url", stub, *FAST]) == 0
    assert "PASS GET /health (3 attempt(s))" in capsys.readouterr().out


def test_a_failing_real_request_fails_the_stage_with_the_reason(stub: str, capsys: pytest.CaptureFixture[str]) -> None:
    _Stub.behaviour["post_status"] = 500
    assert smoke.main(["--url", stub, "--deadline", "0.2", "--timeout", "2", "--pause", "0.05"]) == 1
    out = capsys.readouterr().out
    assert "FAIL POST /v1/embeddings" in out
    assert "status 500, expected 200" in out
    assert "smoke tests FAILED" in out


def test_an_answer_without_the_expected_keys_fails(stub: str, capsys: pytest.CaptureFixture[str]) -> None:
    _Stub.behaviour["post_body"] = {"error": "model not loaded"}
    assert smoke.main(["--url", stub, "--deadline", "0.2", "--timeout", "2", "--pause", "0.05"]) == 1
    assert "the answer lacks data" in capsys.readouterr().out


def test_an_unreachable_api_fails_within_the_deadline(capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--url", "http://127.0.0.1:9", "--deadline", "0.3", "--timeout", "1", "--pause", "0.1"]) == 1
    out = capsys.readouterr().out
    assert "FAIL GET /health" in out
    assert "POST" not in out  # the real request waits for a healthy service


def test_bad_arguments_exit_2_and_no_url_means_no_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--url", "api.example.com"]) == 2
    bad = tmp_path / "smoke.json"
    bad.write_text('{"method": "GET"}')
    assert smoke.main(["--url", "https://api.example.com", "--request-file", str(bad)]) == 2
    assert "'method' and 'path'" in capsys.readouterr().err
    assert smoke.main(["--url", ""]) == 0
