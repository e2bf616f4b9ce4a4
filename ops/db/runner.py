"""The maintenance sequence: ten steps run in order, each logged with its timing, stopping safely at the first
failure and resumable from it. The steps' effects come in through `Services` (boto3 clients, a database connection,
the maintenance-mode switch, an HTTP getter), so the sequence is the same against AWS and in the tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ops.db import aws, sql
from ops.db.aws import Targets
from ops.db.sql import StepError, StepResult

STEPS: tuple[tuple[str, str], ...] = (
    ("recovery_point", "On-demand recovery point: AWS Backup job of the cluster into the stack's vault, waited for"),
    ("replica_lag", "Replica lag of every reader below the threshold (CloudWatch AuroraReplicaLag), else refuse"),
    ("maintenance_on", "Maintenance mode on: the ALB answers 503 (JSON) on every path but /health; pods stay"),
    ("analyze", "ANALYZE every user table (fresh statistics, also for the bloat estimate)"),
    ("reindex", "REINDEX INDEX CONCURRENTLY of indexes past the bloat threshold (btree and HNSW)"),
    ("vacuum", "VACUUM (ANALYZE) every user table (--full: VACUUM (FULL, ANALYZE), exclusive locks)"),
    ("extensions", "ALTER EXTENSION ... UPDATE where the server offers a newer version (pgvector)"),
    ("maintenance_off", "Maintenance mode off: the ALB routes to the pods again"),
    ("health", "Health check: GET <api>/health answers 200, SELECT 1 on the writer"),
    ("log", "Maintenance log: the run's JSON record in the exports bucket (SSE-KMS)"),
)
KEYS = tuple(key for key, _ in STEPS)
# Steps that need maintenance mode on while they run (a resumed run turns it on again first).
IN_MAINTENANCE = ("analyze", "reindex", "vacuum", "extensions")


@dataclass(frozen=True)
class Options:
    """How the run behaves (kept in the state file: a resumed run goes on with the same options)."""

    full: bool = False
    bloat_threshold: float = 0.3
    min_index_bytes: int = 10 * 1024 * 1024
    max_lag_ms: float = 1000
    backup_timeout_seconds: float = 2 * 3600
    lock_timeout_seconds: int = 10
    extensions: tuple[str, ...] = ("vector",)
    retention_days: int = 35


class Switch(Protocol):
    """Maintenance mode on/off (ops.db.switch.StackFileSwitch; a recording double in the tests)."""

    def commands(self, enabled: bool) -> list[str]: ...

    def configured(self) -> bool: ...

    def set(self, enabled: bool) -> dict[str, Any]: ...


@dataclass
class Services:
    """The run's effects. `connect` is None when a dry run has no database to read."""

    backup: Any = None
    rds: Any = None
    cloudwatch: Any = None
    s3: Any = None
    connect: Callable[[], sql.Connection] | None = None
    switch: Switch | None = None
    http_get: Callable[[str], tuple[int, str]] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _connection: sql.Connection | None = field(default=None, repr=False)

    def db(self, lock_timeout_seconds: int) -> sql.Connection:
        if self._connection is None:
            if self.connect is None:
                raise StepError("no database connection")
            self._connection = self.connect()
            sql.prepare_session(self._connection, lock_timeout_seconds)
        return self._connection


def new_state(stack: str, options: Options) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "run_id": f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        "stack": stack,
        "started_at": now.isoformat(),
        "options": {**asdict(options), "extensions": list(options.extensions)},
        "status": "running",
        "maintenance_by_run": False,
        "steps": {},
    }


def options_of(state: dict[str, Any]) -> Options:
    saved = dict(state["options"])
    saved["extensions"] = tuple(saved["extensions"])
    return Options(**saved)


def resume_index(state: dict[str, Any]) -> int:
    """The first step of a saved run that did not succeed."""
    for index, key in enumerate(KEYS):
        if state["steps"].get(key, {}).get("status") not in ("succeeded", "skipped"):
            return index
    raise StepError(f"run {state['run_id']} already finished; start a new one without --resume")


class Maintenance:
    """One run of the sequence over `targets` (None in an offline dry run) with `services`."""

    def __init__(
        self,
        state: dict[str, Any],
        targets: Targets | None,
        services: Services,
        *,
        apply: bool,
        state_path: Path | None = None,
        out: Callable[[str], None] = print,
    ) -> None:
        self.state, self.targets, self.services, self.apply = state, targets, services, apply
        self.options = options_of(state)
        self.state_path = state_path
        self.out = out

    # --- the steps --------------------------------------------------------------------------------------------
    def recovery_point(self) -> StepResult:
        t, o = self._targets(), self.options
        call = (f"backup.start_backup_job(vault={t.backup_vault}, resource=<cluster {t.cluster_identifier}>, "
                f"role={t.backup_role_arn}, DeleteAfterDays={o.retention_days}); wait up to "
                f"{o.backup_timeout_seconds:.0f}s for COMPLETED")  # fmt: skip
        if not self.apply:
            return StepResult(statements=[call])
        saved = self.state["steps"].get("recovery_point", {}).get("details", {})
        job_id = saved.get("backup_job_id") or aws.start_recovery_point(
            self.services.backup, self.services.rds, t, run_id=self.state["run_id"], retention_days=o.retention_days
        )
        self._record_details("recovery_point", {"backup_job_id": job_id})
        details = aws.wait_for_recovery_point(
            self.services.backup, job_id, timeout_seconds=o.backup_timeout_seconds,
            sleep=self.services.sleep, clock=self.services.clock,
        )  # fmt: skip
        return StepResult(statements=[call], details=details)

    def replica_lag(self) -> StepResult:
        t = self._targets()
        call = f"cloudwatch AuroraReplicaLag (Maximum, last 5 min) of each reader of {t.cluster_identifier} <= " + (
            f"{self.options.max_lag_ms:.0f} ms"
        )
        if not self.apply:
            return StepResult(statements=[call])
        details = aws.replica_lag(self.services.rds, self.services.cloudwatch, t, max_lag_ms=self.options.max_lag_ms)
        return StepResult(statements=[call], details=details)

    def maintenance_on(self) -> StepResult:
        switch = self.services.switch
        if switch is None:
            raise StepError("maintenance mode needs the ai-api (`ai-platform:api`) and its URL")
        if switch.configured():
            return StepResult(details={"maintenance_mode": "already on by the stack file; left as it is"})
        if not self.apply:
            return StepResult(statements=switch.commands(True))
        details = switch.set(True)
        self.state["maintenance_by_run"] = True
        return StepResult(statements=switch.commands(True), details=details)

    def analyze(self) -> StepResult:
        return self._sql(lambda conn: sql.analyze(conn, apply=self.apply), ["ANALYZE <each user table>"])

    def reindex(self) -> StepResult:
        o = self.options
        return self._sql(
            lambda conn: sql.reindex(conn, apply=self.apply, threshold=o.bloat_threshold, min_bytes=o.min_index_bytes),
            [f"REINDEX INDEX CONCURRENTLY <each index over {o.bloat_threshold:.0%} estimated bloat and "
             f"{o.min_index_bytes} bytes>"],
        )  # fmt: skip

    def vacuum(self) -> StepResult:
        full = self.options.full
        on = self.state["maintenance_by_run"] or bool(self.services.switch and self.services.switch.configured())
        if full and not self.apply:
            self.out(f"      note: {sql.VACUUM_FULL_LOCKS}")
        template = "VACUUM (FULL, ANALYZE) <each user table>" if full else "VACUUM (ANALYZE) <each user table>"
        # A dry run has not turned maintenance mode on: it checks --full against the run it describes.
        return self._sql(
            lambda conn: sql.vacuum(conn, apply=self.apply, full=full, maintenance_mode=on or not self.apply),
            [template],
        )

    def extensions(self) -> StepResult:
        names = self.options.extensions
        return self._sql(
            lambda conn: sql.update_extensions(conn, apply=self.apply, names=names),
            [f"ALTER EXTENSION {n} UPDATE TO <default_version> when it differs from the installed one" for n in names],
        )

    def maintenance_off(self) -> StepResult:
        switch = self.services.switch
        if switch is None or not self.state["maintenance_by_run"]:
            reason = "not turned on by this run" if switch is not None else "no ai-api"
            statements = switch.commands(False) if switch is not None and not self.apply else []
            return StepResult(statements=statements, details={"maintenance_mode": f"left as it is ({reason})"})
        details = switch.set(False)
        self.state["maintenance_by_run"] = False
        return StepResult(statements=switch.commands(False), details=details)

    def health(self) -> StepResult:
        t = self._targets() if self.apply else self.targets
        url = f"{t.api_url}/health" if t and t.api_url else None
        statements = [f"GET {url} -> 200" if url else "no ai-api URL: API check skipped", "SELECT 1"]
        if not self.apply:
            return StepResult(statements=statements)
        details: dict[str, Any] = {}
        if url and self.services.http_get:
            status, _ = self.services.http_get(url)
            details["api_health"] = status
            if status != 200:
                raise StepError(f"GET {url} answered {status}, expected 200")
        details.update(sql.select_one(self.services.db(self.options.lock_timeout_seconds)).details)
        return StepResult(statements=statements, details=details)

    def log(self) -> StepResult:
        t = self.targets
        where = f"s3://{t.log_bucket}/{aws.log_key(t, self.state['run_id'])}" if t else "s3://<exports bucket>/..."
        if not self.apply:
            return StepResult(statements=[f"put {where} (SSE-KMS, storage key)"])
        self.state["status"] = "succeeded"
        return StepResult(statements=[f"put {where}"], details={"log": self._store()})

    # --- machinery ---------------------------------------------------------------------------------------------
    def _targets(self) -> Targets:
        if self.targets is None:
            raise StepError("no stack outputs")
        return self.targets

    def _sql(self, step: Callable[[sql.Connection], StepResult], templates: list[str]) -> StepResult:
        if self.services.connect is None and not self.apply:
            return StepResult(statements=templates, details={"database": "not connected (--connect reads it)"})
        return step(self.services.db(self.options.lock_timeout_seconds))

    def _record_details(self, key: str, details: dict[str, Any]) -> None:
        self.state["steps"].setdefault(key, {}).setdefault("details", {}).update(details)
        self._save()

    def _save(self) -> None:
        if self.apply and self.state_path is not None:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            self.state_path.write_text(json.dumps(self.state, indent=2, sort_keys=True, default=str))

    def _store(self) -> str | None:
        if self.targets is None or self.services.s3 is None:
            return None
        self.state["finished_at"] = datetime.now(UTC).isoformat()
        location = aws.write_log(self.services.s3, self.targets, self.state)
        self.state["log"] = location
        return location

    def _step(self, number: int, key: str, title: str) -> None:
        record = self.state["steps"].setdefault(key, {})
        record.update(status="running", started_at=datetime.now(UTC).isoformat(), error=None)
        self._save()
        started = self.services.clock()
        result: StepResult = getattr(self, key)()
        record.update(
            status="succeeded" if self.apply else "planned",
            seconds=round(self.services.clock() - started, 3),
            statements=result.statements,
        )
        record.setdefault("details", {}).update(result.details)
        self._save()
        self.out(f"  {number:>2}. {title}  [{record['status']}, {record['seconds']:.1f}s]")
        for statement in result.statements:
            self.out(f"        {statement}")

    def run(self, start: int = 0) -> bool:
        """Run the steps from `start`; True when all succeeded. On a failure: record it, turn maintenance mode
        off again if this run turned it on, store the record durably, and return False."""
        if start and KEYS[start] in IN_MAINTENANCE and self.apply and not self.state["maintenance_by_run"]:
            self._step(KEYS.index("maintenance_on") + 1, "maintenance_on", "Maintenance mode on again (resume)")
        for index in range(start, len(STEPS)):
            key, title = STEPS[index]
            try:
                self._step(index + 1, key, title)
            except Exception as error:  # any failure stops the run safely; the report says which and why
                self._fail(key, error)
                return False
        if self.apply:
            self._save()
        return True

    def _fail(self, key: str, error: Exception) -> None:
        record = self.state["steps"].setdefault(key, {})
        record.update(status="failed", error=f"{type(error).__name__}: {error}")
        self.state["status"] = "failed"
        self.state["failed_step"] = key
        self.out(f"  FAILED at {key}: {record['error']}")
        if self.apply and self.state["maintenance_by_run"] and key != "maintenance_off" and self.services.switch:
            try:
                self.services.switch.set(False)
                self.state["maintenance_by_run"] = False
                self.out("  maintenance mode turned off again")
            except Exception as cleanup:  # reported, never hides the first failure
                self.out(f"  maintenance mode is STILL ON: turning it off failed: {cleanup}")
        if self.apply:
            try:
                where = self._store()
                self.out(f"  record: {where or 'no durable log (no outputs)'}")
            except Exception as store:  # the local state file still has everything
                self.out(f"  durable log not written: {store}")
            self._save()
