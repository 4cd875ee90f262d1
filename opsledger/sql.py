"""Every SQL statement lives in ``sql/<domain>/<verb>_<object>.sql``, loaded here by name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")
_NOT_CODE = re.compile(r"'(?:[^']|'')*'|--[^\n]*")  # string literals and comments


@cache
def load(name: str) -> str:
    """``load("metrics/build_service_daily")`` → the text of ``sql/metrics/build_service_daily.sql``."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL file {path}")
    return path.read_text(encoding="utf-8")


def quote_literal(value: str) -> str:
    """A SQL string literal, for the few places DuckDB takes no parameter (view definitions)."""
    return "'" + value.replace("'", "''") + "'"


def bind(text: str, values: Mapping[str, object]) -> dict[str, object]:
    """The named parameters of ``values`` that statement ``text`` uses (DuckDB refuses unused ones).
    Whole names only, outside comments and string literals: ``$k`` does not claim ``$k1``."""
    used = set(_PARAM.findall(_NOT_CODE.sub("", text)))
    return {name: value for name, value in values.items() if name in used}


def execute(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: Mapping[str, object] | None = None,
    pieces: Mapping[str, str] | None = None,
) -> None:
    """Run ``sql/<name>.sql``, the parameters it uses bound by name (``bind``); ``pieces`` fill its
    ``{key}`` placeholders with fixed SQL the caller built from its own fragments, never user text."""
    text = load(name)
    for key, piece in (pieces or {}).items():
        text = text.replace("{" + key + "}", piece)
    con.execute(text, bind(text, params or {}))


def arrow(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, object] | None = None, **tables: pa.Table
) -> pa.Table:
    """The result of ``sql/<name>.sql`` as an Arrow table: the parameters it uses bound by name
    (``bind``), and ``tables`` registered under their keyword names while it runs."""
    text = load(name)
    for table_name, table in tables.items():
        con.register(table_name, table)
    try:
        return con.sql(text, params=bind(text, params or {})).to_arrow_table()
    finally:
        for table_name in tables:
            con.unregister(table_name)
