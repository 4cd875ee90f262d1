"""The DuckDB warehouse: views over the lake for the contract tables, tables for marts.

DuckDB allows one writing process at a time; readers (dashboards, ``opsledger sql``) open it
read-only and briefly, so a writer waits for them with a bounded retry instead of failing.
View definitions embed the lake's path (DuckDB takes no parameters in a view), quoted as a
literal; nothing user-supplied is ever substituted.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pyarrow as pa

from opsledger import lake, sql
from opsledger.config import OpsledgerConfig
from opsledger.contract import SCHEMAS
from opsledger.errors import OpsledgerError

LOCK_WAIT_S = 60.0

# Statements that prepare temp tables the marts share, run first.
MART_INPUTS: tuple[str, ...] = ("metrics/create_request_increases",)

# Mart tables and the SELECT each is built from; the only identifiers ever substituted.
MARTS: dict[str, tuple[str, dict]] = {
    "mart_service_daily": ("metrics/select_service_traffic", {"grain": "day"}),
    "mart_service_hourly": ("metrics/select_service_traffic", {"grain": "hour"}),
}


def connect(path: Path, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    if read_only and not path.exists():
        raise OpsledgerError(f"no warehouse at {path}: run `opsledger build` (or `opsledger demo`) first")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + LOCK_WAIT_S
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            con.execute("set enable_progress_bar = false")  # it would draw on the CLI's stdout
            return con
        except duckdb.IOException as exc:
            # Another process holds the file (a writer, or readers while we want to write).
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise OpsledgerError(f"{path}: warehouse is busy ({exc})") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def refresh_views(con: duckdb.DuckDBPyConnection, lake_dir: Path) -> None:
    """(Re)create one view per contract table; a table with no files yet is an empty typed view."""
    for table in SCHEMAS:
        refresh_view(con, lake_dir, table)


def refresh_view(con: duckdb.DuckDBPyConnection, lake_dir: Path, table: str) -> None:
    """(Re)create the view of one contract ``table`` (a name of ``SCHEMAS``) over the lake."""
    if lake.has_files(lake_dir, table):
        glob = sql.quote_literal(lake.table_glob(lake_dir, table))
        relation = f"read_parquet({glob}, union_by_name = true)"
    else:
        relation = f"({_empty_select(SCHEMAS[table])})"
    con.execute(sql.load(f"views/{table}").replace("{relation}", relation))


def refresh_views_at(path: Path, lake_dir: Path) -> None:
    """Let the warehouse at ``path`` see what was just written to the lake (a table that had no
    files is an empty view until its view is made again)."""
    con = connect(path, read_only=False)
    try:
        refresh_views(con, lake_dir)
    finally:
        con.close()


def build_marts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild every mart table in one transaction; returns row counts per mart."""
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        for statement in MART_INPUTS:
            con.execute(sql.load(statement))
        for table, (query, params) in MARTS.items():
            con.execute(f"create or replace table {table} as {sql.load(query)}", params)
            counts[table] = con.execute(f"select count(*) from {table}").fetchall()[0][0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return counts


def build(warehouse_path: Path, lake_dir: Path, config: OpsledgerConfig | None = None) -> dict[str, int]:
    """Views, traffic marts and — when a config is given — the marts of its configured funnels."""
    from opsledger.funnels.marts import build_funnel_marts, configured_funnels
    from opsledger.slo.marts import build_slo_marts

    con = connect(warehouse_path, read_only=False)
    try:
        refresh_views(con, lake_dir)
        counts = build_marts(con)
        if config is not None:
            counts |= build_funnel_marts(con, configured_funnels(config))
            counts |= build_slo_marts(con, config)
        return counts
    finally:
        con.close()


def _empty_select(schema: pa.Schema) -> str:
    columns = ", ".join(f"cast(null as {_duckdb_type(f.type)}) as {f.name}" for f in schema)
    return f"select {columns} limit 0"


def _duckdb_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_map(arrow_type):
        return f"map({_duckdb_type(arrow_type.key_type)}, {_duckdb_type(arrow_type.item_type)})"
    simple = {
        pa.string(): "varchar",
        pa.float64(): "double",
        pa.int64(): "bigint",
        pa.int32(): "integer",
        pa.bool_(): "boolean",
    }
    return simple[arrow_type]
