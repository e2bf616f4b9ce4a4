"""Is a restored database the source's data? Checked over two DB-API connections (psycopg), so the same function
runs in the drill against Aurora and in the tests against a real PostgreSQL with pgvector.

- row counts per table: equal, or the source ahead by at most `row_tolerance` (a live source keeps writing after
  the recovery point was taken; a restore never holds more rows than its source);
- per table with a pgvector column and a single integer primary key: the vectors of the rows both hold (primary key
  up to the restored maximum) have the same digest, and exact nearest-neighbour queries (index scans off, so the
  answer is the data's, not an index's approximation) for probe vectors taken from the restore return the same ids.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


class Connection(Protocol):
    def cursor(self) -> Any: ...


@dataclass
class IntegrityReport:
    """What was compared and every difference found (`ok` when there is none)."""

    tables: dict[str, tuple[int, int]] = field(default_factory=dict)  # table -> (source rows, restored rows)
    vector_tables: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(connection: Connection, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    cursor.execute(query, params or None)
    return list(cursor.fetchall())


TABLES = """SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1, 2"""
VECTOR_COLUMNS = """SELECT c.table_schema, c.table_name, c.column_name, k.attname
FROM information_schema.columns c
JOIN pg_class t ON t.relname = c.table_name
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = c.table_schema
JOIN pg_index i ON i.indrelid = t.oid AND i.indisprimary AND array_length(i.indkey::int2[], 1) = 1
JOIN pg_attribute k ON k.attrelid = t.oid AND k.attnum = i.indkey[0]
WHERE c.udt_name = 'vector' AND k.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
ORDER BY 1, 2, 3"""


def _count(connection: Connection, table: str) -> int:
    return int(_rows(connection, f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608 - quoted catalog names


def check_integrity(
    source: Connection, restored: Connection, *, row_tolerance: float = 0.0, probes: int = 5, neighbours: int = 10
) -> IntegrityReport:
    """Compare `restored` with `source` (see the module docstring); never writes to either."""
    report = IntegrityReport()
    source_tables = {f"{_quote(s)}.{_quote(t)}" for s, t in _rows(source, TABLES)}
    restored_tables = {f"{_quote(s)}.{_quote(t)}" for s, t in _rows(restored, TABLES)}
    report.problems += [f"table {t} missing from the restore" for t in sorted(source_tables - restored_tables)]
    for table in sorted(source_tables & restored_tables):
        counts = (_count(source, table), _count(restored, table))
        report.tables[table] = counts
        if not counts[1] <= counts[0] <= counts[1] * (1 + row_tolerance):
            report.problems.append(f"{table}: {counts[1]} rows restored, source has {counts[0]}")
    for connection in (source, restored):
        _rows(connection, "SELECT set_config('enable_indexscan', 'off', false), "
                          "set_config('enable_bitmapscan', 'off', false)")  # fmt: skip
    for schema, name, column, key in _rows(restored, VECTOR_COLUMNS):
        table = f"{_quote(schema)}.{_quote(name)}"
        if table not in source_tables:
            continue
        report.vector_tables.append(f"{table}.{column}")
        report.problems += _compare_vectors(source, restored, table, _quote(column), _quote(key), probes, neighbours)
    return report


def _compare_vectors(
    source: Connection, restored: Connection, table: str, column: str, key: str, probes: int, neighbours: int
) -> list[str]:
    """Digest of the shared rows' vectors, then exact nearest neighbours of probe vectors from the restore."""
    upper = _rows(restored, f"SELECT max({key}) FROM {table}")[0][0]  # noqa: S608
    if upper is None:
        return []
    digest = f"SELECT md5(string_agg({column}::text, ',' ORDER BY {key})) FROM {table} WHERE {key} <= %s"  # noqa: S608
    problems = []
    if _rows(source, digest, (upper,)) != _rows(restored, digest, (upper,)):
        problems.append(f"{table}.{column}: vectors differ from the source's (rows up to {key} {upper})")
    probe_rows = _rows(restored, f"SELECT {key}, {column}::text FROM {table} ORDER BY md5({key}::text) LIMIT %s",  # noqa: S608
                       (probes,))  # fmt: skip
    nearest = (f"SELECT {key} FROM {table} WHERE {key} <= %s "  # noqa: S608
               f"ORDER BY {column} <=> %s::vector, {key} LIMIT %s")  # fmt: skip
    for probe_id, vector in probe_rows:
        theirs = [r[0] for r in _rows(source, nearest, (upper, vector, neighbours))]
        ours = [r[0] for r in _rows(restored, nearest, (upper, vector, neighbours))]
        if theirs != ours:
            problems.append(f"{table}.{column}: nearest neighbours of row {probe_id} differ: "
                            f"source {theirs}, restored {ours}")  # fmt: skip
    return problems
