"""SLO marts: every SLO and SLA configured in ``opsledger.yaml`` evaluated over the warehouse's
data (``opsledger.slo.marts``), precomputed so the SLOs page and SQL users only read.

One multi-asset because the marts are rebuilt in one DuckDB transaction: a reader never sees a
status that disagrees with the history or the alerts. It writes DuckDB, so it sits in the pool.
"""

import dagster as dg

from assets.ingest.assets import raw_key
from assets.marts import mart_result, mart_specs
from opsledger.slo.marts import SCHEMAS, build_slo_marts
from pipelines.resources import DUCKDB_POOL, LakeResource, WarehouseResource

DESCRIPTIONS: dict[str, str] = {
    "slo_status": "Per configured SLO objective and group, at the minute after the newest data: SLI, error "
    "budget consumed and remaining (not clamped), burn rates over 5m … 3d, time to exhaustion and status "
    "(NO_DATA / HEALTHY / DEGRADING / VIOLATED) — the same figures as `opsledger slo status`.",
    "slo_history": "Per configured SLO objective and group, the state at the end of each day (midnight in "
    "the SLO's time zone) over the data's days: the error-budget burn-down.",
    "slo_burn_rates": "Per configured SLO objective and group, the 1 h and 6 h burn rates at the end of "
    "every UTC hour, with the page thresholds (14.4 and 6 for 30 days): when budget burned fast.",
    "slo_alerts": "The multi-window, multi-burn-rate alerts (SRE Workbook ch. 5: page 1h/5m and 6h/30m, "
    "ticket 1d/2h and 3d/6h) replayed minute by minute over history, as intervals during which each "
    "would have fired.",
    "slo_policy_events": "Error-budget policy events per SLO objective and group: the minute the window's "
    "budget was exhausted (and when it had budget again, in a rolling window), and every incident — a run of "
    "minutes under the objective, gaps under 5 minutes merged — whose bad events exceeded 20 % of the "
    "period's error budget.",
    "sla_months": "Per configured SLA and calendar month (in its time zone) with data: minutes, downtime, "
    "excluded maintenance and SLO corrections, uptime, met or missed, and the service credit owed.",
}
assert {f"mart_{name}" for name in DESCRIPTIONS} == set(SCHEMAS)
# The sources an SLI or an SLA's maintenance windows can be computed from.
SOURCES = ("metric_samples", "log_records", "test_results", "audit_events")


def slo_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["mart", "slo", name])


@dg.multi_asset(
    name="slo_marts",
    specs=mart_specs(slo_key, DESCRIPTIONS, [raw_key(table) for table in SOURCES], "slo"),
    pool=DUCKDB_POOL,
)
def slo_marts(lake: LakeResource, warehouse: WarehouseResource):
    """Re-evaluate every configured SLO and SLA from the warehouse views."""
    config = lake.load_config()
    with warehouse.connect() as con:
        counts = build_slo_marts(con, config)
        for name in DESCRIPTIONS:
            table = f"mart_{name}"  # from DESCRIPTIONS' keys, never from input
            preview = con.sql(f"select * from {table} limit 5").to_arrow_table()
            yield mart_result(
                slo_key(name), table, counts[table], preview, slo_instances=counts["mart_slo_status"]
            )
