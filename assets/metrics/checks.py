"""Checks on the service traffic marts: ratios are ratios, quantiles are ordered.

They read the warehouse file, so they share the ``duckdb`` pool with its writers: DuckDB refuses
a reader while another process holds the file for writing.
"""

import dagster as dg

from assets import preview_markdown
from assets.metrics.assets import MART_TABLES, mart_key
from pipelines.resources import DUCKDB_POOL, WarehouseResource

_SHOWN = 5  # offending rows listed in the check's metadata

# Table names come from MART_TABLES (an allow-list), never from input.
_BAD_RATIO = "error_ratio < 0 or error_ratio > 1 or errors < 0 or errors > requests"
_UNORDERED = "latency_p50_ms > latency_p95_ms or latency_p95_ms > latency_p99_ms"


@dg.multi_asset_check(
    name="service_traffic_checks",
    specs=[
        spec
        for name in MART_TABLES
        for spec in (
            dg.AssetCheckSpec(
                "error_ratio_between_0_and_1",
                asset=mart_key(name),
                description="Every bucket's error ratio lies in [0, 1] and errors never exceed requests.",
            ),
            dg.AssetCheckSpec(
                "latency_quantiles_ordered",
                asset=mart_key(name),
                description="Every bucket's latency quantiles are ordered: p50 ≤ p95 ≤ p99.",
            ),
        )
    ],
    pool=DUCKDB_POOL,
)
def service_traffic_checks(warehouse: WarehouseResource):
    with warehouse.connect(read_only=True) as con:
        for name, table in MART_TABLES.items():
            for check_name, condition in (
                ("error_ratio_between_0_and_1", _BAD_RATIO),
                ("latency_quantiles_ordered", _UNORDERED),
            ):
                total, bad = con.execute(
                    f"select count(*), count(*) filter (where {condition}) from {table}"
                ).fetchall()[0]
                offending = con.sql(
                    f"select * from {table} where {condition} order by service, bucket limit {_SHOWN}"
                ).to_arrow_table()
                yield dg.AssetCheckResult(
                    asset_key=mart_key(name),
                    check_name=check_name,
                    passed=bad == 0,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "rows": total,
                        "offending_rows": bad,
                        "examples": dg.MetadataValue.md(preview_markdown(offending, _SHOWN)),
                    },
                )
