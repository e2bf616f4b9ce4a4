"""Smoke tests of a deployed ai-api through its ALB: `python -m ops.smoke --url https://api.example.com`.

Two checks, each retried with backoff until its deadline (a fresh release may still be settling behind the ALB):
`GET /health` answers 200, then one real request (ops/smoke.json: method, path, body, expected status and JSON keys)
answers as expected. Prints one line per attempt and a verdict; exits 0 when both pass, 1 when one fails, 2 for bad
arguments. Standard library only, so a bare runner (no virtualenv) runs it; `python -m ops smoke` is the same.
An empty --url means the stack has no ai-api: nothing to test, exit 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The pods' probe path (components/ai_api/names.py HEALTH_PATH; a test keeps them equal). Not imported: that package
# needs the Pulumi SDK, and this script runs on a bare runner.
HEALTH_PATH = "/health"
REQUEST_FILE = Path(__file__).with_name("smoke.json")


@dataclass(frozen=True)
class Check:
    """One HTTP call and what its answer must be."""

    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect_status: int = 200
    expect_json_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    check: str
    passed: bool
    attempts: int
    detail: str


def load_request(path: Path = REQUEST_FILE) -> Check:
    """The real request of `path` (see ops/smoke.json); ValueError names what is wrong."""
    try:
        spec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: {error}") from error
    missing = [key for key in ("method", "path") if not isinstance(spec.get(key), str)]
    if missing or not spec["path"].startswith("/"):
        raise ValueError(f"{path}: 'method' and 'path' (starting with /) are required")
    body = spec.get("body")
    return Check(
        name=f"{spec['method']} {spec['path']}",
        method=spec["method"],
        path=spec["path"],
        body=None if body is None else json.dumps(body).encode(),
        headers=dict(spec.get("headers", {})),
        expect_status=int(spec.get("expect_status", 200)),
        expect_json_keys=tuple(spec.get("expect_json_keys", ())),
    )


def _attempt(base_url: str, check: Check, timeout: float) -> str | None:
    """None when the answer is as expected, else why not."""
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's, https in CI
        base_url.rstrip("/") + check.path, data=check.body, method=check.method, headers=check.headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return f"no answer ({getattr(error, 'reason', error)})"
    if status != check.expect_status:
        return f"status {status}, expected {check.expect_status}"
    if check.expect_json_keys:
        try:
            document: Any = json.loads(payload)
        except json.JSONDecodeError:
            return "the answer is not JSON"
        missing = [key for key in check.expect_json_keys if not isinstance(document, dict) or key not in document]
        if missing:
            return f"the answer lacks {', '.join(missing)}"
    return None


def run_check(base_url: str, check: Check, *, deadline_seconds: float, timeout: float, pause: float) -> Outcome:
    """Retry `check` with doubling pauses (capped at 30 s) until it passes or `deadline_seconds` have passed."""
    start = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        problem = _attempt(base_url, check, timeout)
        print(f"  {check.name}: attempt {attempts}: {problem or 'ok'}", flush=True)
        if problem is None:
            return Outcome(check.name, True, attempts, "ok")
        if time.monotonic() - start + pause > deadline_seconds:
            return Outcome(check.name, False, attempts, problem)
        time.sleep(pause)
        pause = min(pause * 2, 30.0)


def smoke(base_url: str, request: Check, *, deadline_seconds: float, timeout: float, pause: float) -> list[Outcome]:
    """/health first; the real request only once the service is up."""
    health = Check(name=f"GET {HEALTH_PATH}", method="GET", path=HEALTH_PATH)
    outcomes = [run_check(base_url, health, deadline_seconds=deadline_seconds, timeout=timeout, pause=pause)]
    if outcomes[0].passed:
        outcomes.append(run_check(base_url, request, deadline_seconds=deadline_seconds, timeout=timeout, pause=pause))
    return outcomes


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """`python -m ops smoke`."""
    parser = subparsers.add_parser("smoke", help="smoke tests of a deployed ai-api (/health and one real request)")
    _arguments(parser)
    parser.set_defaults(handler=run)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the API's base URL (`pulumi stack output ai_api_url`)")
    parser.add_argument("--request-file", type=Path, default=REQUEST_FILE, help="the real request (ops/smoke.json)")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds each check may keep retrying")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds one attempt may take")
    parser.add_argument("--pause", type=float, default=2.0, help="first pause between attempts, doubling")


def run(args: argparse.Namespace) -> int:
    """Run the smoke tests; print a report."""
    if not args.url:
        print("no API URL: the stack has no ai-api, nothing to smoke-test")
        return 0
    if not args.url.startswith(("https://", "http://")):
        print(f"error: --url {args.url!r} is not an http(s) URL", file=sys.stderr)
        return 2
    try:
        request = load_request(args.request_file)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"smoke tests of {args.url}")
    outcomes = smoke(args.url, request, deadline_seconds=args.deadline, timeout=args.timeout, pause=args.pause)
    for outcome in outcomes:
        verdict = "PASS" if outcome.passed else "FAIL"
        print(f"{verdict} {outcome.check} ({outcome.attempts} attempt(s)): {outcome.detail}")
    passed = len(outcomes) == 2 and all(outcome.passed for outcome in outcomes)
    print("smoke tests passed" if passed else "smoke tests FAILED")
    return 0 if passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.smoke", description=__doc__.splitlines()[0])
    _arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
