"""Funnel mart checks: step counts are cumulative, so they never increase along a funnel."""

import dagster as dg

from assets.funnels.assets import funnel_key
from pipelines.resources import DUCKDB_POOL, WarehouseResource


@dg.asset_check(asset=funnel_key("funnel_steps"), pool=DUCKDB_POOL, blocking=True)
def funnel_counts_never_increase(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        exists = con.execute(
            "select count(*) from duckdb_tables() where table_name = 'mart_funnel_steps'"
        ).fetchall()[0][0]
        if not exists:
            return dg.AssetCheckResult(passed=True, metadata={"funnels": 0})
        rising = con.sql(
            "select funnel, breakdown, step from ("
            " select *, lag(count) over (partition by funnel, is_total, breakdown order by step) as previous"
            " from mart_funnel_steps) where count > previous"
        ).fetchall()
    return dg.AssetCheckResult(passed=not rising, metadata={"rising_steps": len(rising)})
