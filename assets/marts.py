"""What the mart multi-assets of every domain share: their specs (each mart built from the
warehouse views and the raw tables it reads) and the metadata a materialized mart reports."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import dagster as dg
import pyarrow as pa

from assets import preview_markdown
from assets.ingest.assets import VIEWS_KEY


def mart_specs(
    key: Callable[[str], dg.AssetKey],
    descriptions: Mapping[str, str],
    sources: Iterable[dg.AssetKey],
    group: str,
) -> list[dg.AssetSpec]:
    """One spec per mart name of ``descriptions``, depending on the views and ``sources``."""
    deps = [VIEWS_KEY, *sources]
    return [
        dg.AssetSpec(key(name), description=description, deps=deps, group_name=group, kinds={"duckdb"})
        for name, description in descriptions.items()
    ]


def mart_result(
    key: dg.AssetKey, table: str, rows: int, preview: pa.Table | None, **metadata: object
) -> dg.MaterializeResult:
    """A mart's materialization: its own ``metadata``, then rows, table and a preview."""
    return dg.MaterializeResult(
        asset_key=key,
        metadata={
            **metadata,
            "rows": rows,
            "dagster/row_count": rows,
            "table": table,
            "preview": dg.MetadataValue.md(preview_markdown(preview)),
        },
    )
