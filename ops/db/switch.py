"""Maintenance mode from the command: the same config key a person would set, then a `pulumi up` of the Ingress only.

`ai-platform:api.maintenance_mode` is flipped in `Pulumi.<stack>.yaml` by editing that one line (or adding it under
`ai-platform:api:`; ops/stackedit.py), so comments and layout stay as they were (`pulumi config set` rewrites the
whole file and drops comments). Then `pulumi up --target <Ingress URN>` applies just the Ingress, and the command
waits until the ALB answers accordingly. With a warm standby the DR site's ai-api Ingress reads the same flag and is
targeted too: its database is a replica of the one under maintenance, and Pulumi's state must match the file for
both. Pulumi's state and the stack file always agree with the cluster, so an ordinary `pulumi up` from the same
checkout keeps maintenance mode as it is; a deployment from another checkout (CI from main) would turn it off, so
deployments wait while it is on (docs/runbooks/database.md).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.stackfile import StackYamlLoader
from ops.db.sql import StepError
from ops.engine import PROJECT_DIR, plan_stack
from ops.stackedit import StackEditError, set_value, update_file

SECTION = "ai-platform:api"
KEY = "maintenance_mode"
INGRESS_SUFFIX = "-ai-api-ingress"


def _parse(text: str) -> dict[str, Any]:
    return dict(yaml.load(text, Loader=StackYamlLoader)["config"])  # noqa: S506 - a SafeLoader subclass


def _require_api(text: str) -> None:
    if SECTION not in _parse(text):
        raise StepError(f"the stack file has no `{SECTION}:` section: maintenance mode needs the ai-api")


def set_flag(text: str, enabled: bool) -> str:
    """The stack file text with `ai-platform:api.maintenance_mode` set (or its line added to the section), every
    other byte unchanged (ops/stackedit.py). Refuses a file without a block-style `ai-platform:api:` section."""
    _require_api(text)
    try:
        return set_value(text, SECTION, (KEY,), enabled)
    except StackEditError as error:
        raise StepError(str(error)) from None


def ingress_urns(stack: str, project_dir: Path = PROJECT_DIR) -> tuple[str, ...]:
    """The URNs of every ai-api Ingress the flag drives (the primary's, and the warm standby's where there is one),
    from the offline plan of the stack: the URNs `pulumi up --target` takes."""
    plan = plan_stack(stack, project_dir)
    ingresses = plan.by_type("kubernetes:networking.k8s.io/v1:Ingress")
    urns = tuple(sorted(r.urn for r in ingresses if r.name.endswith(INGRESS_SUFFIX)))
    if not urns:
        raise StepError(f"stack {stack} declares no ai-api Ingress: maintenance mode needs the ai-api")
    return urns


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    """Status and body of a GET (an HTTP error status is an answer, not an exception)."""
    request = urllib.request.Request(url, headers={"User-Agent": "ai-platform-ops"})  # noqa: S310 - https URL of the stack
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read(4096).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(4096).decode(errors="replace")
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return 0, str(error)


def is_maintenance_answer(status: int, body: str) -> bool:
    try:
        return status == 503 and json.loads(body).get("error") == "maintenance"
    except (ValueError, AttributeError):
        return False


def wait_until(check: Callable[[], bool], *, timeout: float, poll: float, sleep: Callable[[float], None]) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        sleep(poll)


@dataclass
class StackFileSwitch:
    """Turns maintenance mode on and off through the stack file and a targeted `pulumi up`, and waits for the ALB."""

    stack: str
    api_url: str
    project_dir: Path = PROJECT_DIR
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run
    get: Callable[[str], tuple[int, str]] = http_get
    sleep: Callable[[float], None] = time.sleep
    timeout_seconds: float = 300
    _urns: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def stack_file(self) -> Path:
        return self.project_dir / f"Pulumi.{self.stack}.yaml"

    def urns(self) -> tuple[str, ...]:
        if self._urns is None:
            self._urns = ingress_urns(self.stack, self.project_dir)
        return self._urns

    def commands(self, enabled: bool) -> list[str]:
        """What `set` does, for the dry run."""
        return [
            f"edit {self.stack_file.name}: {SECTION}.{KEY}: {'true' if enabled else 'false'} (comments kept)",
            " ".join(self._pulumi_up()),
            f"wait until {self.api_url}/ answers " + ("503 maintenance" if enabled else "from the pods again"),
        ]

    def _pulumi_up(self) -> list[str]:
        targets = [arg for urn in self.urns() for arg in ("--target", urn)]
        return ["pulumi", "up", "--stack", self.stack, *targets, "--yes", "--non-interactive"]

    def configured(self) -> bool:
        """Whether the stack file has maintenance mode on (set by a person for a longer window, or by a run)."""
        return bool(_parse(self.stack_file.read_text()).get(SECTION, {}).get(KEY, False))

    def set(self, enabled: bool) -> dict[str, Any]:
        """Write the flag, apply the Ingress, wait for the ALB to answer accordingly."""
        _require_api(self.stack_file.read_text())
        try:  # written only when the result loads as the stack's config
            update_file(self.stack_file, SECTION, {(KEY,): enabled}, stack=self.stack)
        except StackEditError as error:
            raise StepError(str(error)) from None
        done = self.run(self._pulumi_up(), cwd=self.project_dir, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StepError(f"`{' '.join(self._pulumi_up())}` failed: {done.stderr.strip()[-800:]}")

        def answered() -> bool:
            status, body = self.get(f"{self.api_url}/")
            return is_maintenance_answer(status, body) == enabled and (enabled or status != 0)

        if not wait_until(answered, timeout=self.timeout_seconds, poll=10, sleep=self.sleep):
            state = "the 503 maintenance answer" if enabled else "answers from the pods"
            raise StepError(f"the ALB gave no {state} at {self.api_url}/ within {self.timeout_seconds:.0f}s")
        return {"stack_file": self.stack_file.name, "maintenance_mode": enabled, "targets": list(self.urns())}
