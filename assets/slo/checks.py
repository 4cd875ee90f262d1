"""SLO mart checks: the stored figures obey the formulas every SLO tool agrees on
(``reference/slo.md``), replayed alerts are well-formed intervals, and SLA uptime is its minutes."""

import dagster as dg

from assets.slo.assets import slo_key
from pipelines.resources import DUCKDB_POOL, WarehouseResource

TOLERANCE = 1e-9

# Rolling Occurrences: consumed = (1 − good/total) / (1 − target); calendar windows and time slices
# weigh the ratio differently, so there only remaining = 1 − consumed is checked.
BUDGET_MISMATCHES = """
select name, objective, "group" from mart_slo_status
where abs(error_budget_remaining - (1 - error_budget_consumed)) > $tolerance
    or (status = 'NO_DATA') <> (sli is null)
    or (budgeting_method = 'Occurrences' and time_window like 'rolling %' and total > 0
        and abs(error_budget_consumed - (1 - good / total) / error_budget) > $tolerance)
"""
ALERT_PROBLEMS = """
select name, objective, "group", severity, "start" from (
    select *,
        lag("end") over (partition by name, objective, "group", severity order by "start") as previous_end
    from mart_slo_alerts
)
where "start" >= "end" or severity not in ('page', 'ticket') or "start" < previous_end
"""
UPTIME_MISMATCHES = """
select name, month from mart_sla_months
where downtime_minutes + excluded_minutes > minutes
    or (minutes > excluded_minutes and abs(
        uptime - (minutes - excluded_minutes - downtime_minutes) / (minutes - excluded_minutes)) > $tolerance)
"""

# Every stored event is what it claims: an incident over 20 % of its period's budget, an exhaustion
# at a spent budget, each with its share computed from its own figures.
POLICY_PROBLEMS = """
select name, objective, "group", event, "start" from mart_slo_policy_events
where budget <= 0
    or abs(budget_share - bad / budget) > $tolerance
    or (event = 'incident_over_20pct' and (bad <= 0.2 * budget or "end" <= "start"))
    or (event = 'budget_exhausted' and (bad < budget * (1 - 1e-9) or "end" <= "start"))
    or event not in ('incident_over_20pct', 'budget_exhausted')
"""


def _check(warehouse: WarehouseResource, query: str, params: dict, label: str) -> dg.AssetCheckResult:
    """Passed when ``query`` finds no offending row; ``label`` names the count in the metadata."""
    with warehouse.connect(read_only=True) as con:
        bad = con.execute(query, params).fetchall()
    return dg.AssetCheckResult(
        passed=not bad, metadata={label: len(bad), "first": str(bad[0]) if bad else ""}
    )


@dg.asset_check(asset=slo_key("slo_status"), pool=DUCKDB_POOL, blocking=True)
def error_budget_consumed_matches_sli(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _check(warehouse, BUDGET_MISMATCHES, {"tolerance": TOLERANCE}, "mismatches")


@dg.asset_check(asset=slo_key("slo_alerts"), pool=DUCKDB_POOL, blocking=True)
def alert_intervals_disjoint(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _check(warehouse, ALERT_PROBLEMS, {}, "bad_intervals")


@dg.asset_check(asset=slo_key("sla_months"), pool=DUCKDB_POOL, blocking=True)
def sla_uptime_matches_minutes(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _check(warehouse, UPTIME_MISMATCHES, {"tolerance": TOLERANCE}, "mismatches")


@dg.asset_check(asset=slo_key("slo_policy_events"), pool=DUCKDB_POOL, blocking=True)
def policy_events_meet_their_thresholds(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _check(warehouse, POLICY_PROBLEMS, {"tolerance": TOLERANCE}, "bad_events")
