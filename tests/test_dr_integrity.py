"""The drill's integrity check on a real PostgreSQL with pgvector: a seeded database is dumped and restored into a
second one with pg_dump/pg_restore and passes; a restore missing a row, or with a changed vector, is caught."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from ops.dr.integrity import check_integrity
from tests.test_migrations_sql import Postgres, postgres  # noqa: F401 - the session's PostgreSQL fixture

pytestmark = pytest.mark.postgres
DIMENSIONS = 8


def _vector(rng: random.Random) -> str:
    return "[" + ",".join(f"{rng.uniform(-1, 1):.4f}" for _ in range(DIMENSIONS)) + "]"


@pytest.fixture(scope="module")
def seeded(postgres: Postgres) -> str:  # noqa: F811
    postgres.query("DROP DATABASE IF EXISTS dr_source")
    postgres.query("CREATE DATABASE dr_source")
    rng = random.Random(13)
    rows = ",".join(f"('doc-{i}', '{_vector(rng)}')" for i in range(200))
    postgres.query(
        "CREATE EXTENSION IF NOT EXISTS vector; CREATE SCHEMA ai;"
        f"CREATE TABLE ai.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, doc text, v vector({DIMENSIONS}));"
        "CREATE INDEX ON ai.items USING hnsw (v vector_cosine_ops);"
        "CREATE TABLE public.notes (note text); INSERT INTO public.notes VALUES ('a'), ('b');"
        f"INSERT INTO ai.items (doc, v) VALUES {rows};",
        database="dr_source",
    )
    return "dr_source"


def _restore_copy(postgres: Postgres, source: str, target: str) -> None:  # noqa: F811
    """pg_dump (custom format) of `source`, pg_restore into a fresh `target`: a restore, as a drill makes one."""
    bin_dir = postgres.psql.parent
    postgres.query(f"DROP DATABASE IF EXISTS {target}")
    postgres.query(f"CREATE DATABASE {target}")
    dump = subprocess.run([str(bin_dir / "pg_dump"), "--format=custom", f"--dbname={postgres.uri(source)}"],
                          capture_output=True, check=True, timeout=60)  # fmt: skip
    subprocess.run([str(bin_dir / "pg_restore"), "--no-owner", f"--dbname={postgres.uri(target)}"],
                   input=dump.stdout, capture_output=True, check=True, timeout=60)  # fmt: skip


@pytest.fixture
def connections(postgres: Postgres, seeded: str) -> Iterator[tuple[psycopg.Connection, psycopg.Connection, Postgres]]:  # noqa: F811
    _restore_copy(postgres, seeded, "dr_restored")
    with (
        psycopg.connect(postgres.uri(seeded), autocommit=True) as source,
        psycopg.connect(postgres.uri("dr_restored"), autocommit=True) as restored,
    ):
        yield source, restored, postgres


def test_a_faithful_restore_passes(connections) -> None:
    source, restored, _ = connections
    report = check_integrity(source, restored)
    assert report.ok, report.problems
    assert report.tables['"ai"."items"'] == (200, 200)
    assert report.tables['"public"."notes"'] == (2, 2)
    assert report.vector_tables == ['"ai"."items".v']


def test_a_missing_row_is_detected(connections) -> None:
    source, restored, server = connections
    server.query("DELETE FROM ai.items WHERE id = 17", database="dr_restored")
    report = check_integrity(source, restored)
    assert not report.ok
    assert '"ai"."items": 199 rows restored, source has 200' in report.problems


def test_a_changed_vector_is_detected(connections) -> None:
    source, restored, server = connections
    server.query(f"UPDATE ai.items SET v = '{_vector(random.Random(99))}' WHERE id = 42", database="dr_restored")
    report = check_integrity(source, restored)
    assert any("vectors differ" in p for p in report.problems), report.problems


def test_a_source_that_grew_since_the_recovery_point_passes_within_the_tolerance(connections) -> None:
    source, restored, server = connections
    server.query(f"INSERT INTO ai.items (doc, v) VALUES ('late', '{_vector(random.Random(5))}')",
                   database="dr_source")  # fmt: skip
    try:
        assert not check_integrity(source, restored).ok
        assert check_integrity(source, restored, row_tolerance=0.01).ok
    finally:
        server.query("DELETE FROM ai.items WHERE doc = 'late'", database="dr_source")
