"""The SQL steps of `ops db maintenance` on a real PostgreSQL 18 + pgvector 0.8 (the fixture of
tests/test_migrations_sql.py), and the whole sequence with the AWS side in moto (tests/db_maintenance_aws.py):
a bloated btree and HNSW index are found and rebuilt concurrently, the extension step updates what is behind, a
failure mid-way is reported, turns maintenance mode off and resumes from its step, and a dry run changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from ops.db import sql
from ops.db.runner import KEYS, Maintenance, Options, Services, new_state, resume_index
from tests.db_maintenance_aws import account
from tests.test_migrations_sql import Postgres
from tests.test_migrations_sql import postgres as postgres  # the shared server fixture (re-exported for pytest)

pytestmark = pytest.mark.postgres
ROWS = 3_000
VECTOR = "ARRAY[" + ",".join(["random()"] * 8) + "]::vector(8)"


@pytest.fixture(scope="module")
def database(postgres: Postgres) -> str:
    postgres.query("CREATE DATABASE maintenance")
    postgres.query("CREATE EXTENSION vector", database="maintenance")
    return postgres.uri("maintenance")


@pytest.fixture
def conn(database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database, autocommit=True) as connection:
        yield connection


def make_table(conn: psycopg.Connection[Any], name: str, *, bloat: bool, vacuum: bool = True) -> None:
    """A table with a btree (primary key and text) and an HNSW index; `bloat` deletes 90% of the rows after the
    indexes are built, so the indexes keep their size while the live rows shrink."""
    conn.execute(f"DROP TABLE IF EXISTS {name}")
    conn.execute(f"CREATE TABLE {name} (id bigint PRIMARY KEY, label text, embedding vector(8))")
    conn.execute(f"INSERT INTO {name} SELECT i, 'label-' || i, {VECTOR} FROM generate_series(1, {ROWS}) i")
    conn.execute(f"CREATE INDEX {name}_label ON {name} (label)")
    conn.execute(f"CREATE INDEX {name}_hnsw ON {name} USING hnsw (embedding vector_cosine_ops)")
    conn.execute(f"ANALYZE {name}")
    if bloat:
        conn.execute(f"DELETE FROM {name} WHERE id % 10 <> 0")
        if vacuum:
            conn.execute(f"VACUUM {name}")


def filenodes(conn: psycopg.Connection[Any], table: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT c.relname, c.relfilenode FROM pg_class c WHERE c.oid = %s::regclass OR c.oid IN "
        "(SELECT indexrelid FROM pg_index WHERE indrelid = %s::regclass)", [table, table]
    ).fetchall()  # fmt: skip
    return dict(rows)


def test_fresh_indexes_are_estimated_at_their_real_size(conn: psycopg.Connection[Any]) -> None:
    make_table(conn, "fresh", bloat=False)
    estimates = {e.name: e for e in sql.index_estimates(conn) if e.name.startswith("public.fresh")}
    assert set(estimates) == {"public.fresh_pkey", "public.fresh_label", "public.fresh_hnsw"}
    for estimate in estimates.values():
        assert estimate.bloat is not None
        assert estimate.bloat < 0.1, f"a fresh index looks bloated: {estimate}"


def test_a_bloated_btree_and_hnsw_index_are_rebuilt_concurrently(conn: psycopg.Connection[Any]) -> None:
    make_table(conn, "bloated", bloat=True)
    make_table(conn, "fresh", bloat=False)
    before = filenodes(conn, "bloated") | filenodes(conn, "fresh")
    sql.prepare_session(conn, lock_timeout_seconds=5)
    sql.analyze(conn, apply=True)
    result = sql.reindex(conn, apply=True, threshold=0.3, min_bytes=0)
    rebuilt = set(result.details["rebuilt"])
    assert {"public.bloated_pkey", "public.bloated_label", "public.bloated_hnsw"} <= rebuilt
    assert not {name for name in rebuilt if name.startswith("public.fresh")}
    assert "REINDEX INDEX CONCURRENTLY public.bloated_hnsw" in result.statements
    after = filenodes(conn, "bloated") | filenodes(conn, "fresh")
    for index in ("bloated_pkey", "bloated_label", "bloated_hnsw"):
        assert after[index] != before[index], f"{index} was not rewritten"
    for index in ("fresh_pkey", "fresh_label", "fresh_hnsw"):
        assert after[index] == before[index], f"{index} was rebuilt although it is not bloated"
    invalid = conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone()
    assert invalid == (0,)
    estimates = {e.name: e for e in sql.index_estimates(conn)}
    assert estimates["public.bloated_hnsw"].bloat < 0.1  # type: ignore[operator]
    # The rebuilt HNSW index still answers nearest-neighbour queries.
    conn.execute("SET enable_seqscan = off")
    plan = conn.execute(
        "EXPLAIN SELECT id FROM bloated ORDER BY embedding <=> (SELECT embedding FROM "
        "bloated LIMIT 1) LIMIT 3"
    ).fetchall()  # fmt: skip
    assert "bloated_hnsw" in str(plan)


def test_a_failed_rebuild_leaves_no_invalid_copy(conn: psycopg.Connection[Any]) -> None:
    make_table(conn, "locked", bloat=True)
    sql.prepare_session(conn, lock_timeout_seconds=1)
    with psycopg.connect(conn.info.dsn, autocommit=False) as holder:
        holder.execute("LOCK TABLE locked IN SHARE ROW EXCLUSIVE MODE")  # conflicts with the rebuild's lock
        with pytest.raises(psycopg.errors.LockNotAvailable):
            sql.reindex(conn, apply=True, threshold=0.3, min_bytes=0)
    assert sql.leftover_indexes(conn) == []


def test_extension_update_is_a_no_op_when_current_and_updates_an_older_version(
    conn: psycopg.Connection[Any],
) -> None:
    current = sql.update_extensions(conn, apply=True, names=["vector"])
    assert current.statements == []
    assert current.details["versions"]["vector"]["installed"] == current.details["versions"]["vector"]["available"]
    # pgvector's wheel ships only its newest install script; pg_trgm ships older ones and takes the same path.
    versions = [v for (v,) in conn.execute("SELECT version FROM pg_available_extension_versions WHERE name = "
                                           "'pg_trgm' ORDER BY string_to_array(version, '.')::int[]")]  # fmt: skip
    conn.execute(f"DROP EXTENSION IF EXISTS pg_trgm; CREATE EXTENSION pg_trgm VERSION '{versions[0]}'")
    planned = sql.update_extensions(conn, apply=False, names=["vector", "pg_trgm"])
    assert planned.statements == [f"ALTER EXTENSION \"pg_trgm\" UPDATE TO '{versions[-1]}'"]
    assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'").fetchone() == (versions[0],)
    done = sql.update_extensions(conn, apply=True, names=["vector", "pg_trgm"])
    assert done.details["after"]["pg_trgm"] == versions[-1]


def test_vacuum_full_is_refused_outside_maintenance_mode(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(sql.StepError, match=r"maintenance mode is off.*ACCESS EXCLUSIVE"):
        sql.vacuum(conn, apply=True, full=True, maintenance_mode=False)


class RecordingSwitch:
    """Test double of the maintenance-mode switch (the real one edits the stack file and runs `pulumi up`)."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def commands(self, enabled: bool) -> list[str]:
        return [f"maintenance_mode: {enabled}"]

    def configured(self) -> bool:
        return False

    def set(self, enabled: bool) -> dict[str, Any]:
        self.calls.append(enabled)
        return {"maintenance_mode": enabled}


def test_dry_run_changes_nothing(conn: psycopg.Connection[Any], database: str) -> None:
    make_table(conn, "untouched", bloat=True, vacuum=False)  # dead rows, statistics of before the delete
    snapshot = "SELECT relfilenode, reltuples FROM pg_class WHERE relname LIKE 'untouched%' ORDER BY relname"
    before = conn.execute(snapshot).fetchall()
    switch, lines = RecordingSwitch(), []
    with account() as acct:
        state = new_state("test", Options(full=True, min_index_bytes=0))
        services = Services(connect=lambda: psycopg.connect(database), switch=switch, s3=acct.s3)
        assert Maintenance(state, acct.targets, services, apply=False, out=lines.append).run()
        assert acct.s3.list_objects_v2(Bucket=acct.targets.log_bucket).get("KeyCount") == 0
    assert conn.execute(snapshot).fetchall() == before  # no ANALYZE, VACUUM (FULL), REINDEX: same files, same stats
    assert switch.calls == []
    assert any("VACUUM (FULL, ANALYZE) public.untouched" in line for line in lines)
    assert any("ACCESS EXCLUSIVE" in line for line in lines)
    conn.execute("DROP TABLE untouched")


def test_a_failure_mid_way_is_reported_and_the_run_resumes_from_that_step(
    conn: psycopg.Connection[Any], database: str, tmp_path: Any
) -> None:
    make_table(conn, "busy", bloat=False)
    state_file, switch, lines = tmp_path / "state.json", RecordingSwitch(), []
    holder = psycopg.connect(database, autocommit=False)
    # A long reader: VACUUM FULL cannot take its lock (REINDEX CONCURRENTLY would wait for it too: nothing is
    # bloated here, so the rebuild step has nothing to wait for and the run stops at the VACUUM).
    holder.execute("LOCK TABLE busy IN ACCESS SHARE MODE")
    with account() as acct:
        acct.lag("ai-platform-test-1", 30)
        state = new_state("test", Options(full=True, lock_timeout_seconds=1, retention_days=7))
        acct.backup_job(state["run_id"])
        services = Services(backup=acct.backup, rds=acct.rds, cloudwatch=acct.cloudwatch, s3=acct.s3,
                            connect=lambda: psycopg.connect(database), switch=switch,
                            http_get=lambda url: (200, "ok"), sleep=lambda _: None)  # fmt: skip
        first = Maintenance(state, acct.targets, services, apply=True, state_path=state_file, out=lines.append)
        assert not first.run()
        assert state["failed_step"] == "vacuum"
        assert "LockNotAvailable" in state["steps"]["vacuum"]["error"]
        assert switch.calls == [True, False], "maintenance mode must be turned off again after the failure"
        assert any("maintenance mode turned off again" in line for line in lines)
        stored = acct.s3.list_objects_v2(Bucket=acct.targets.log_bucket)["Contents"]
        assert [o["Key"] for o in stored] == [f"maintenance/database/test/{state['run_id']}.json"]

        holder.rollback()  # the reader ends
        holder.close()
        saved = __import__("json").loads(state_file.read_text())
        start = resume_index(saved)
        assert KEYS[start] == "vacuum"
        services._connection = None
        again = Maintenance(saved, acct.targets, services, apply=True, state_path=state_file, out=lines.append)
        assert again.run(start)
        acct.stub.assert_no_pending_responses()  # one backup job, not a second one
    assert switch.calls == [True, False, True, False]  # on again for the resumed SQL steps, then off
    assert saved["status"] == "succeeded"
    assert all(saved["steps"][key]["status"] == "succeeded" for key in KEYS)
    assert saved["steps"]["recovery_point"]["details"]["state"] == "COMPLETED"
    assert saved["steps"]["health"]["details"] == {"api_health": 200, "writer": "ok"}
