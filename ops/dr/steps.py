"""Steps of a DR command: each checks its postcondition first and skips when it already holds, so a command re-run
after a partial failure picks up where it stopped, and a re-run after success changes nothing.

Without `--apply` nothing changes: each step is listed with whether it is already done (read-only checks). With
`--apply` each step runs in order and is logged with its timing, as JSON lines to a file (for the record) and as
readable lines on stderr (for the operator).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any


class DrInputError(Exception):
    """Bad input (unknown region, a time outside the restorable window, a strategy without DR...): exit 2,
    nothing changed."""


class StepFailed(Exception):
    """A step failed while acting: exit 1; what ran before it is logged, a re-run continues from it."""


@dataclass
class Clock:
    """Time and waiting, replaceable in tests (no real sleeps)."""

    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    poll_seconds: float = 15.0
    timeout_seconds: float = 3600.0

    def wait_until(self, what: str, condition: Callable[[], bool]) -> None:
        """Poll `condition` until it holds; `StepFailed` after `timeout_seconds`."""
        deadline = self.monotonic() + self.timeout_seconds
        while not condition():
            if self.monotonic() >= deadline:
                raise StepFailed(f"timed out after {self.timeout_seconds:g} s waiting for {what}")
            self.sleep(self.poll_seconds)


@dataclass(frozen=True)
class Step:
    """One step: `done` is its read-only postcondition, `act` makes it hold (and waits for it)."""

    name: str
    done: Callable[[], bool]
    act: Callable[[], object]


@dataclass
class StepLog:
    """JSON lines appended to `path` and one readable line per event on `stream`."""

    path: Path
    command: str
    stack: str
    stream: IO[str] = field(default_factory=lambda: sys.stderr)

    def event(self, step: str, status: str, seconds: float | None = None, **detail: Any) -> None:
        record = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "command": self.command,
                  "stack": self.stack, "step": step, "status": status, "seconds": seconds, **detail}  # fmt: skip
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        timing = f" ({seconds:.1f} s)" if seconds is not None else ""
        extra = f": {detail['message']}" if "message" in detail else ""
        print(f"[{status}] {step}{timing}{extra}", file=self.stream)


def run_steps(steps: Sequence[Step], *, apply: bool, log: StepLog) -> int:
    """Dry run (list the steps) or apply them in order; 0 when all hold at the end, 1 when one failed."""
    if not apply:
        for step in steps:
            print(f"[{'done' if step.done() else 'to do'}] {step.name}", file=log.stream)
        print("dry run: nothing changed; add --apply to act", file=log.stream)
        return 0
    started = time.monotonic()
    for step in steps:
        begin = time.monotonic()
        if step.done():
            log.event(step.name, "skipped", 0.0, message="already done")
            continue
        log.event(step.name, "started")
        try:
            step.act()
        except Exception as error:  # any failure of a step: logged, reported, and the run stops there
            log.event(step.name, "failed", time.monotonic() - begin, message=f"{type(error).__name__}: {error}")
            print("re-run the same command to continue from this step", file=log.stream)
            return 1
        log.event(step.name, "done", time.monotonic() - begin)
    log.event("all steps", "done", time.monotonic() - started)
    return 0
