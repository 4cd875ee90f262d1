"""Service traffic marts: requests, 5xx errors, error ratio and latency quantiles per service.

Both grains come from one SELECT (``sql/metrics/select_service_traffic.sql``) and are rebuilt
together in one DuckDB transaction, so a reader never sees a daily mart that disagrees with the
hourly one; hence one multi-asset. It writes DuckDB, so it sits in the ``duckdb`` pool.
"""

import dagster as dg

from assets.ingest.assets import raw_key
from assets.marts import mart_result, mart_specs
from opsledger.warehouse import MARTS, build_marts
from pipelines.resources import DUCKDB_POOL, WarehouseResource

DESCRIPTIONS: dict[str, str] = {
    "service_daily": "Per service and UTC day: requests, 5xx errors, error ratio and latency p50/p95/p99 "
    "(ms), from raw Prometheus counters and histograms with counter resets handled as Prometheus does. "
    "The daily reliability picture behind SLO reports and the overview dashboard.",
    "service_hourly": "The same traffic, error and latency figures per service and UTC hour: where an outage "
    "or a latency regression starts and ends.",
}
# Asset name → mart table: mart_<name>, a name in opsledger.warehouse.MARTS (the identifier allow-list).
MART_TABLES = {name: f"mart_{name}" for name in DESCRIPTIONS}
assert set(MART_TABLES.values()) <= set(MARTS)


def mart_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["mart", "metrics", name])


@dg.multi_asset(
    name="service_traffic_marts",
    specs=mart_specs(mart_key, DESCRIPTIONS, [raw_key("metric_samples")], "metrics"),
    pool=DUCKDB_POOL,
)
def service_traffic_marts(warehouse: WarehouseResource):
    """Rebuild the service traffic marts from the metric_samples view."""
    with warehouse.connect() as con:
        counts = build_marts(con)
        for name, table in MART_TABLES.items():
            # `table` comes from MART_TABLES, never from input.
            services, first, last = con.execute(
                f"select count(distinct service), min(bucket), max(bucket) from {table}"
            ).fetchall()[0]
            preview = con.sql(f"select * from {table} order by service, bucket limit 5").to_arrow_table()
            yield mart_result(
                mart_key(name),
                table,
                counts[table],
                preview,
                services=services,
                first_bucket=str(first) if first else "none",
                last_bucket=str(last) if last else "none",
            )
