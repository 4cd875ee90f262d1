"""Every SQL statement lives in ``sql/<domain>/<verb>_<object>.sql``, loaded here by name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


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
