"""The SQL steps of database maintenance, as functions over one DB-API connection in autocommit mode.

They know nothing about where the connection comes from (a tunnel to Aurora, or the tests' PostgreSQL), and each
one either runs its statements (`apply=True`) or only reads the catalog and returns what it would run: a dry run
issues no statement that changes data, statistics or files.

Index bloat is estimated from the catalog and the planner statistics alone (no `pgstattuple`, which would need an
extension and reads every page): the size an index would have if rebuilt now is computed from its table's live row
estimate (`pg_class.reltuples`, fresh after the ANALYZE step) and the width of its key columns, using the access
method's on-page layout; the estimated bloat is the share of the index's actual size above that. See
`expected_pages`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
APPLICATION_NAME = "ai-platform-db-maintenance"
# What REINDEX ... CONCURRENTLY leaves behind when it fails: an invalid `<index>_ccnew[N]` (or `_ccold[N]`).
LEFTOVER = re.compile(r"_cc(new|old)[0-9]*$")
PAGE_HEADER = 24  # PageHeaderData
ITEM_ID = 4  # one line pointer per tuple
BTREE_SPECIAL = 16  # BTPageOpaqueData
BTREE_TUPLE_HEADER = 8  # IndexTupleData
HNSW_SPECIAL = 8  # pgvector HnswPageOpaqueData
HNSW_ELEMENT_HEADER = 72  # pgvector HnswElementTupleData before the value: type, level, deleted, version, 10 heap
#                           TIDs, the neighbour TID and padding
HNSW_NEIGHBOR_HEADER = 4  # pgvector HnswNeighborTupleData before its TIDs: type, version, count
TID = 6  # ItemPointerData
# On-disk width of pgvector's fixed-dimension types: varlena header + dim + unused (8 bytes), then the elements.
VECTOR_ELEMENT_BYTES = {"vector": 4, "halfvec": 2}


class Connection(Protocol):
    """The part of a DB-API 2 connection the steps use (psycopg 3 in autocommit mode)."""

    autocommit: bool

    def cursor(self) -> Any: ...


class StepError(RuntimeError):
    """A maintenance step refused to run or failed; the message says which and why."""


@dataclass
class StepResult:
    """What a step ran (or, in a dry run, would run) and what it found."""

    statements: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


def _execute(conn: Connection, sql: str) -> None:
    with conn.cursor() as cur:
        cur.execute(sql)


def prepare_session(conn: Connection, lock_timeout_seconds: int) -> list[str]:
    """Autocommit (VACUUM and REINDEX CONCURRENTLY refuse transaction blocks), no statement timeout (a VACUUM of a
    large table takes what it takes), and a lock timeout: a step waiting behind a long transaction gives up instead
    of queueing every later query of the application behind its own lock request."""
    conn.autocommit = True
    statements = [
        f"SET application_name = '{APPLICATION_NAME}'",
        "SET statement_timeout = 0",
        f"SET lock_timeout = '{int(lock_timeout_seconds)}s'",
    ]
    for statement in statements:
        _execute(conn, statement)
    return statements


def user_tables(conn: Connection) -> list[str]:
    """Qualified names of the database's tables and materialized views outside the system schemas."""
    rows = _rows(
        conn,
        "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg_temp%%' "
        "AND n.nspname NOT LIKE 'pg_toast_temp%%' ORDER BY n.nspname, c.relname",
        [list(SYSTEM_SCHEMAS)],
    )
    return [qualified for (qualified,) in rows]


def analyze(conn: Connection, *, apply: bool) -> StepResult:
    """ANALYZE every user table: fresh statistics for the planner and for the bloat estimate that follows."""
    result = StepResult(statements=[f"ANALYZE {table}" for table in user_tables(conn)])
    if apply:
        for statement in result.statements:
            _execute(conn, statement)
    result.details["tables"] = len(result.statements)
    return result


@dataclass(frozen=True)
class IndexEstimate:
    """One index, its actual size and the size it would have if rebuilt now (None: no estimate for it)."""

    name: str  # qualified, quoted
    method: str
    actual_bytes: int
    expected_bytes: int | None

    @property
    def bloat(self) -> float | None:
        """Share of the actual size above the expected one (0 when the index is as small as expected)."""
        if self.expected_bytes is None or self.actual_bytes == 0:
            return None
        return max(0.0, 1 - self.expected_bytes / self.actual_bytes)


def _maxalign(size: float) -> int:
    return int(math.ceil(size / 8) * 8)


def expected_pages(method: str, rows: float, key_widths: Sequence[int], options: dict[str, str], page: int) -> int:
    """Pages an index of `rows` entries with these key widths takes right after a rebuild.

    btree: each entry is a MAXALIGNed IndexTuple (8-byte header + keys) plus its line pointer; leaf pages are filled
    to `fillfactor` (90%) of the space left by the page header and the btree special space; one metapage and the
    inner levels (one downlink per leaf page) come on top. Deduplication only makes a real index smaller, so it can
    hide bloat, never invent it.
    hnsw (pgvector): each element is an element tuple (72-byte header + the vector) and a neighbour tuple
    (4 bytes + one 6-byte TID per neighbour: 2*m on layer 0, m per layer above, ~1/(m-1) layers above on average),
    each with a line pointer, packed whole into pages (a 1536-dimension vector takes a page of its own); plus the
    metapage.
    """
    if method == "btree":
        fillfactor = int(options.get("fillfactor", 90)) / 100
        entry = _maxalign(BTREE_TUPLE_HEADER + sum(key_widths)) + ITEM_ID
        per_page = max(1, int((page - PAGE_HEADER - BTREE_SPECIAL) * fillfactor // entry))
        leaves = max(1, math.ceil(rows / per_page))
        return 1 + leaves + math.ceil(leaves / per_page)
    if method == "hnsw":
        m = int(options.get("m", 16))
        neighbours = TID * m * (2 + 1 / (m - 1))
        entry = _maxalign(HNSW_ELEMENT_HEADER + key_widths[0]) + _maxalign(HNSW_NEIGHBOR_HEADER + neighbours)
        per_page = max(1, (page - PAGE_HEADER - HNSW_SPECIAL) // (entry + 2 * ITEM_ID))
        return 1 + max(1, math.ceil(rows / per_page))
    raise ValueError(f"no size model for index method {method}")


_INDEXES = """
SELECT format('%%I.%%I', n.nspname, ic.relname), am.amname, pg_relation_size(i.indexrelid), t.reltuples,
       coalesce(ic.reloptions, '{}'),
       array(SELECT CASE WHEN ty.typname = ANY(%s) AND a.atttypmod > 0 THEN -a.atttypmod
                         ELSE coalesce(s.avg_width, -1) END || ':' || ty.typname
             FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             LEFT JOIN pg_type ty ON ty.oid = a.atttypid
             LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname
             ORDER BY k.ord),
       0 = ANY(i.indkey) OR i.indexprs IS NOT NULL
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg_temp%%' AND i.indisvalid AND ic.relkind = 'i'
ORDER BY 1
"""


def _key_widths(columns: Sequence[str]) -> list[int] | None:
    """Stored key widths: pgvector types from their dimension (statistics see a TOAST pointer for a long vector),
    others from `pg_stats.avg_width`; None when a column has no statistics."""
    widths = []
    for column in columns:
        raw, _, type_name = column.partition(":")
        value = int(raw)
        if value < -1:  # a pgvector type with a dimension: -atttypmod
            widths.append(8 + VECTOR_ELEMENT_BYTES[type_name] * -value)
        elif value < 0:
            return None
        else:
            widths.append(value)
    return widths


def index_estimates(conn: Connection) -> list[IndexEstimate]:
    """Every valid index of the user schemas with its actual and expected size (expected None for index methods
    without a size model, expression indexes, and tables never analyzed)."""
    page = int(_rows(conn, "SELECT current_setting('block_size')")[0][0])
    estimates = []
    for name, method, size, rows, reloptions, columns, expression in _rows(
        conn, _INDEXES, [list(VECTOR_ELEMENT_BYTES), list(SYSTEM_SCHEMAS)]
    ):
        options = dict(option.split("=", 1) for option in reloptions)
        widths = None if expression or rows < 0 else _key_widths(columns)
        expected = None
        if widths is not None and method in ("btree", "hnsw"):
            expected = expected_pages(method, rows, widths, options, page) * page
        estimates.append(IndexEstimate(name, method, int(size), expected))
    return estimates


def leftover_indexes(conn: Connection) -> list[str]:
    """Invalid `_ccnew`/`_ccold` indexes a failed REINDEX CONCURRENTLY left behind (they slow every write)."""
    rows = _rows(
        conn,
        "SELECT format('%%I.%%I', n.nspname, c.relname), c.relname FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT i.indisvalid AND n.nspname <> ALL(%s) ORDER BY 1",
        [list(SYSTEM_SCHEMAS)],
    )
    return [qualified for qualified, name in rows if LEFTOVER.search(name)]


def reindex(conn: Connection, *, apply: bool, threshold: float, min_bytes: int) -> StepResult:
    """REINDEX INDEX CONCURRENTLY every index estimated more than `threshold` bloated and at least `min_bytes` big
    (HNSW included), after dropping what an earlier failed rebuild left. CONCURRENTLY builds a new copy beside the
    old one and swaps them: reads and writes go on (only brief locks at the start and the swap).

    A rebuild that fails leaves an invalid `<index>_ccnew` copy; it is dropped before the error goes up.
    """
    estimates = index_estimates(conn)
    candidates = [e for e in estimates if e.bloat is not None and e.bloat > threshold and e.actual_bytes >= min_bytes]
    drops = [f"DROP INDEX CONCURRENTLY IF EXISTS {name}" for name in leftover_indexes(conn)]
    result = StepResult(statements=[*drops, *(f"REINDEX INDEX CONCURRENTLY {e.name}" for e in candidates)])
    result.details = {
        "indexes": {
            e.name: {"method": e.method, "actual_bytes": e.actual_bytes, "expected_bytes": e.expected_bytes,
                     "bloat": None if e.bloat is None else round(e.bloat, 3)}
            for e in estimates
        },
        "rebuilt" if apply else "would_rebuild": [e.name for e in candidates],
        "dropped_leftovers" if apply else "would_drop_leftovers": [d.rsplit(" ", 1)[-1] for d in drops],
    }  # fmt: skip
    if not apply:
        return result
    for statement in result.statements:
        try:
            _execute(conn, statement)
        except Exception:
            for leftover in leftover_indexes(conn):
                _execute(conn, f"DROP INDEX CONCURRENTLY IF EXISTS {leftover}")
            raise
    return result


VACUUM_FULL_LOCKS = (
    "VACUUM FULL rewrites each table and its indexes into new files under an ACCESS EXCLUSIVE lock: every read and "
    "write of that table waits until its rewrite ends (minutes to hours for a large table), it needs free disk "
    "space for a full copy of the table and its indexes, and it is only allowed while maintenance mode is on."
)


def vacuum(conn: Connection, *, apply: bool, full: bool, maintenance_mode: bool) -> StepResult:
    """VACUUM (ANALYZE) every user table (dead rows reclaimed for reuse, visibility map and statistics updated,
    no blocking of reads or writes); with `full`, VACUUM (FULL, ANALYZE), which returns space to the storage but
    locks each table exclusively (`VACUUM_FULL_LOCKS`) and is refused outside maintenance mode."""
    if full and not maintenance_mode:
        raise StepError(f"VACUUM FULL refused: maintenance mode is off. {VACUUM_FULL_LOCKS}")
    options = "(FULL, ANALYZE)" if full else "(ANALYZE)"
    result = StepResult(statements=[f"VACUUM {options} {table}" for table in user_tables(conn)])
    if full:
        result.details["locks"] = VACUUM_FULL_LOCKS
    if apply:
        for statement in result.statements:
            _execute(conn, statement)
    result.details["tables"] = len(result.statements)
    return result


def extension_versions(conn: Connection, names: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
    """name -> (installed version, default version the server offers); None where absent."""
    rows = _rows(
        conn,
        "SELECT a.name, e.extversion, a.default_version FROM pg_available_extensions a "
        "LEFT JOIN pg_extension e ON e.extname = a.name WHERE a.name = ANY(%s)",
        [list(names)],
    )
    found = {name: (installed, default) for name, installed, default in rows}
    return {name: found.get(name, (None, None)) for name in names}


def update_extensions(conn: Connection, *, apply: bool, names: Sequence[str]) -> StepResult:
    """ALTER EXTENSION ... UPDATE where the installed version differs from the one the server now offers (an
    Aurora minor upgrade ships a newer pgvector but leaves the installed extension as it was). Transactional: a
    failing update changes nothing."""
    versions = extension_versions(conn, names)
    result = StepResult(details={"versions": {n: {"installed": i, "available": d} for n, (i, d) in versions.items()}})
    result.statements = [
        f"ALTER EXTENSION {ident(name)} UPDATE TO {literal(default)}"
        for name, (installed, default) in versions.items()
        if installed is not None and default is not None and installed != default
    ]
    if apply:
        for statement in result.statements:
            _execute(conn, statement)
        result.details["after"] = {n: i for n, (i, _) in extension_versions(conn, names).items()}
    return result


def select_one(conn: Connection) -> StepResult:
    """The writer answers a query."""
    rows = _rows(conn, "SELECT 1")
    if rows != [(1,)]:
        raise StepError(f"SELECT 1 on the writer returned {rows!r}")
    return StepResult(statements=["SELECT 1"], details={"writer": "ok"})
