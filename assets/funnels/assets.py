"""Funnel marts: every funnel configured in ``opsledger.yaml``, with PostHog's semantics
(``opsledger.funnels``), precomputed so the dashboard page only reads."""

import dagster as dg

from assets.ingest.assets import raw_key
from assets.marts import mart_result, mart_specs
from opsledger.funnels.marts import build_funnel_marts, configured_funnels
from pipelines.resources import DUCKDB_POOL, LakeResource, WarehouseResource

DESCRIPTIONS: dict[str, str] = {
    "funnel_steps": "Per configured funnel and step: how many people reached it, conversion from the start "
    "and from the previous step, average and median time from the previous step — where users drop out "
    "of a journey (PostHog's ordered/strict/unordered semantics).",
    "funnel_trends": "Per configured funnel and day of the step-1 time: people who entered, converted and "
    "the conversion rate — when a journey got worse.",
    "funnel_time_to_convert": "Per configured funnel: histogram of seconds from the first to the last step "
    "for the people who converted — how long conversion takes.",
    "funnel_why": "Per configured funnel, drop-off step and service: the share of people who reached the "
    "step before but not this one that hit a backend error or a slow request in the next 30 minutes, "
    "against those who converted — why they dropped.",
    "funnel_breakdowns": "Per configured funnel, breakdown property, value and step: people who reached the "
    "step, attributed by the property's value at step 1 — which browsers, plans or tenants convert worse.",
    "funnel_people": "Per configured funnel: everyone who entered, with the deepest step they reached — the "
    "drop-off and converted lists behind the page's downloads.",
}


def funnel_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["mart", "funnels", name])


@dg.multi_asset(
    name="funnel_marts",
    specs=mart_specs(funnel_key, DESCRIPTIONS, [raw_key("product_events")], "funnels"),
    pool=DUCKDB_POOL,
)
def funnel_marts(lake: LakeResource, warehouse: WarehouseResource):
    """Recompute every configured funnel from the product_events view."""
    specs = configured_funnels(lake.load_config(), lake.config_path)
    with warehouse.connect() as con:
        counts = build_funnel_marts(con, specs)
        for name in DESCRIPTIONS:
            table = f"mart_{name}"  # from DESCRIPTIONS' keys, never from input
            preview = con.sql(f"select * from {table} limit 5").to_arrow_table() if table in counts else None
            yield mart_result(funnel_key(name), table, counts.get(table, 0), preview, funnels=len(specs))
