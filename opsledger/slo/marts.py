"""SLO marts: the configured SLOs and SLAs evaluated into warehouse tables, so the dashboard page
and plain SQL only read (the page does no SLO math).

Every mart covers the warehouse's data, from its oldest record to the minute after its newest —
the instant ``opsledger slo status`` evaluates at by default, so the status mart and the CLI agree.

* ``mart_slo_status``: one row per SLO objective and group at that instant (``evaluate``'s keys).
* ``mart_slo_history``: the state at the end of each day over the data's days (``history``).
* ``mart_slo_burn_rates``: 1 h and 6 h burn rates at the end of every hour, with the page
  thresholds, for the burn-rate chart.
* ``mart_slo_alerts``: the replayed page / ticket alert intervals.
* ``mart_slo_policy_events``: error-budget policy events (``opsledger.slo.policy``): budget
  exhausted (and recovered), and incidents over 20 % of the period's budget.
* ``mart_sla_months``: every configured SLA for every month (in its time zone) with data; SLO
  corrections (``opsledger.slo.corrections``) count as excluded minutes there, and are absent from
  the facts every other mart is computed from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from opsledger import sql
from opsledger.config import OpsledgerConfig
from opsledger.contract import TS
from opsledger.slo.catalog import find, load_configured
from opsledger.slo.corrections import read_once
from opsledger.slo.evaluate import BURN_RATE_WINDOWS, evaluate, history
from opsledger.slo.facts import FactsBuilder, covering_builder
from opsledger.slo.policy import EVENT_SCHEMA, policy_events
from opsledger.slo.replay import alert_windows_for, replay_alerts
from opsledger.slo.sla import report_month
from opsledger.slo.spec import SLO

_F, _S = pa.float64(), pa.string()
_KEYS = [("name", _S), ("objective", _S), ("group", _S)]
_SPEC = [("service", _S), ("budgeting_method", _S), ("time_window", _S)]
_STATE = [
    ("target", _F),
    ("sli", _F),
    ("good", _F),
    ("total", _F),
    ("error_budget", _F),
    ("error_budget_consumed", _F),
    ("error_budget_remaining", _F),
    ("burn_rate", _F),
]
_BURN = [(f"burn_rate_{w}", _F) for w in BURN_RATE_WINDOWS]

# Mart table → schema; the table names are the only identifiers ever substituted into SQL.
SCHEMAS: dict[str, pa.Schema] = {
    "mart_slo_status": pa.schema(
        [*_KEYS, *_SPEC, ("at", TS), ("window_start", TS), *_STATE, *_BURN]
        + [("time_to_exhaustion_hours", _F), ("status", _S)]
    ),
    "mart_slo_history": pa.schema(
        [("date", pa.date32()), *_KEYS, *_SPEC, ("at", TS), *_STATE, ("burn_rate_1d", _F), ("status", _S)]
    ),
    "mart_slo_burn_rates": pa.schema(
        [*_KEYS, ("at", TS), ("burn_rate_1h", _F), ("burn_rate_6h", _F)]
        + [("page_threshold_1h", _F), ("page_threshold_6h", _F)]
    ),
    "mart_slo_alerts": pa.schema([*_KEYS, ("severity", _S), ("start", TS), ("end", TS)]),
    "mart_slo_policy_events": pa.schema([("name", _S), ("objective", _S), *EVENT_SCHEMA]),
    "mart_sla_months": pa.schema(
        [("name", _S), ("slo", _S), ("month", _S), ("time_zone", _S), ("minutes", pa.int64())]
        + [("downtime_minutes", pa.int64()), ("excluded_minutes", pa.int64()), ("uptime", _F)]
        + [("target", _F), ("met", pa.bool_()), ("credit_percent", _F), ("downtime_periods", pa.int64())]
    ),
}


# How far around the data the shared facts reach: the longest window evaluated (a calendar year,
# plus the 3-day burn-rate lookback) before it, and an SLA month reaching past its last day after.
# Facts exist only where data does, so a wide range costs nothing.
FACTS_MARGIN = timedelta(days=370)


def data_extent(con: duckdb.DuckDBPyConnection) -> tuple[datetime, datetime] | None:
    """(oldest record's minute, the minute after the newest record); None for an empty warehouse.

    The end is ``opsledger slo status``'s default instant, so a past demo shows its last state."""
    earliest, latest = con.sql(sql.load("slo/select_data_extent")).fetchall()[0]
    if latest is None or earliest is None:
        return None
    end = latest.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return earliest.astimezone(UTC).replace(second=0, microsecond=0), end


def compute_slo_marts(con: duckdb.DuckDBPyConnection, config: OpsledgerConfig) -> dict[str, pa.Table]:
    """Every mart's rows (as ``SCHEMAS``) for the SLOs and SLAs ``config`` names."""
    slos = load_configured(config)
    extent = data_extent(con)
    rows: dict[str, list[dict]] = {table: [] for table in SCHEMAS}
    if slos and extent is not None:
        with read_once(con):  # one read of the corrections for every SLO, objective and window
            _fill(rows, con, config, slos, *extent)
    return {table: pa.Table.from_pylist(rows[table], schema=schema) for table, schema in SCHEMAS.items()}


def _fill(
    rows: dict[str, list[dict]],
    con: duckdb.DuckDBPyConnection,
    config: OpsledgerConfig,
    slos: list[SLO],
    start: datetime,
    end: datetime,
) -> None:
    # Each SLO's facts are built once, over a range that covers every window below.
    facts = {
        item.name: covering_builder(con, item, start - FACTS_MARGIN, end + FACTS_MARGIN) for item in slos
    }
    for item in slos:
        spec, built = _spec_fields(item), facts[item.name]
        rows["mart_slo_status"] += [{**row, **spec} for row in evaluate(con, item, end, facts=built)]
        rows["mart_slo_history"] += [{**row, **spec} for row in history(con, item, start, end, facts=built)]
        for index in range(len(item.objectives)):
            rows["mart_slo_alerts"] += replay_alerts(con, item, start, end, objective=index, facts=built)
        rows["mart_slo_burn_rates"] += _burn_rates(con, item, start, end, built)
        rows["mart_slo_policy_events"] += policy_events(con, item, start, end, facts=built)
    for sla in config.slas:
        item = find(slos, sla.slo)
        for year, month in _months(start, end, sla.time_zone):
            report = report_month(con, sla, item, year, month, facts=facts[item.name])
            rows["mart_sla_months"].append({**report, "downtime_periods": len(report["downtime_periods"])})


def build_slo_marts(con: duckdb.DuckDBPyConnection, config: OpsledgerConfig) -> dict[str, int]:
    """(Re)create every SLO mart in one transaction — a reader never sees a status that disagrees
    with the history — and return row counts per mart. Without SLOs or data the marts are empty."""
    tables = compute_slo_marts(con, config)
    con.execute("begin transaction")
    try:
        for table, rows in tables.items():
            con.register("slo_mart_rows", rows)
            try:
                con.execute(f"create or replace table {table} as select * from slo_mart_rows")
            finally:
                con.unregister("slo_mart_rows")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return {table: rows.num_rows for table, rows in tables.items()}


def _spec_fields(item: SLO) -> dict:
    return {
        "service": item.service,
        "budgeting_method": item.budgeting_method,
        "time_window": item.time_window.describe(),
    }


def _burn_rates(
    con: duckdb.DuckDBPyConnection, item: SLO, start: datetime, end: datetime, facts: FactsBuilder
) -> list[dict]:
    windows = alert_windows_for(item)
    thresholds = {
        "page_threshold_1h": windows.factor(windows.page_quick),
        "page_threshold_6h": windows.factor(windows.page_slow),
    }
    hour = start.replace(minute=0, second=0, microsecond=0)
    rows = []
    for index, objective in enumerate(item.objectives):
        # The first hours' 6 h window reaches back before start.
        burn_facts = facts(con, item, hour - timedelta(hours=6), end, objective=index)
        params = {"start": hour, "end": end, "error_budget": objective.error_budget}
        found = sql.arrow(con, "slo/select_hourly_burn_rates", params, slo_burn_facts=burn_facts)
        keys = {"name": item.name, "objective": item.objective_name(index), **thresholds}
        rows += [{**keys, **row} for row in found.to_pylist()]
    return rows


def _months(start: datetime, end: datetime, time_zone: str) -> list[tuple[int, int]]:
    """Calendar months in ``time_zone`` touched by [start, end)."""
    zone = ZoneInfo(time_zone)
    first, last = start.astimezone(zone), (end - timedelta(microseconds=1)).astimezone(zone)
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append((year, month))
        year, month = year + month // 12, month % 12 + 1
    return months
