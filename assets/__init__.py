"""Dagster assets and asset checks, one subpackage per domain; each exposes ``defs(...)`` returning
its ``DomainDefs``, which ``pipelines/definitions.py`` — the one place a ``Definitions`` is built —
merges. Small helpers every domain uses to say what a materialization did live here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
import pyarrow as pa


@dataclass(frozen=True)
class DomainDefs:
    assets: list[dg.AssetsDefinition] = field(default_factory=list)
    asset_checks: list[dg.AssetChecksDefinition] = field(default_factory=list)


PREVIEW_ROWS = 5
_CELL_CHARS = 60


def preview_markdown(rows: pa.Table | None, limit: int = PREVIEW_ROWS) -> str:
    """A few rows as a Markdown table for the Dagster UI (long cells cut, pipes escaped)."""
    if rows is None or rows.num_rows == 0:
        return "_no rows_"
    rows = rows.slice(0, limit)
    header = "| " + " | ".join(rows.column_names) + " |"
    rule = "|" + "---|" * rows.num_columns
    lines = [header, rule]
    for record in rows.to_pylist():
        lines.append("| " + " | ".join(_cell(value) for value in record.values()) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"
