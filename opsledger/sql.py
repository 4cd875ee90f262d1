"""Every SQL statement lives in ``sql/<domain>/<verb>_<object>.sql``, loaded here by name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

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
