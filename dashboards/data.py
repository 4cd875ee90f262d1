"""The dashboards' one data module: cached, parameterized, read-only queries against the warehouse.

DuckDB lets no writer in while any reader holds the file, so each query opens its own read-only
connection and closes it at once; results are cached, connections never are. The cache key
carries the warehouse file's modification stamp, so a rebuild shows up on the next rerun instead
of after the TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st

from opsledger import sql, warehouse
from opsledger.errors import OpsledgerError
from opsledger.settings import Settings

CACHE_TTL = timedelta(minutes=5)
HOURLY_MAX_DAYS = 7
FILTERS_KEY = "opsledger_filters"


@dataclass(frozen=True)
class Extent:
    """What the warehouse holds: the sidebar offers exactly these days and services."""

    first_day: date
    last_day: date
    services: tuple[str, ...]


@dataclass(frozen=True)
class Filters:
    """The shared sidebar's choice, passed to every page query. Whole UTC days, both ends inclusive.

    The seam for sign-in: the viewer's tenant will be added here by ``dashboards/auth.py`` so that
    every query is scoped on the server side.
    """

    warehouse_path: Path
    first_day: date
    last_day: date
    services: tuple[str, ...]

    @property
    def grain(self) -> str:
        return "hour" if (self.last_day - self.first_day).days + 1 <= HOURLY_MAX_DAYS else "day"

    def params(self) -> dict[str, Any]:
        start = datetime.combine(self.first_day, time(), tzinfo=UTC)
        return {
            "start": start,
            "end": start + timedelta(days=(self.last_day - self.first_day).days + 1),
            "services": list(self.services),
        }


def settings() -> Settings:
    return Settings()


def current_filters() -> Filters:
    """The filters ``app.py`` put in the session before running the page."""
    return st.session_state[FILTERS_KEY]


def extent(warehouse_path: Path) -> Extent | None:
    """The days and services in the daily mart; ``None`` when it has no rows yet.

    Raises ``OpsledgerError`` (a message for the user) when there is no warehouse or no mart.
    """
    row = _query(str(warehouse_path), _stamp(warehouse_path), "select_traffic_extent", ()).row(0, named=True)
    if row["first_day"] is None:
        return None
    return Extent(row["first_day"], row["last_day"], tuple(row["services"]))


def traffic_totals(filters: Filters) -> dict[str, Any]:
    """Total requests, errors and error ratio over the filters (one row, as a dict)."""
    return _run(filters, "select_traffic_totals", filters.params()).row(0, named=True)


def service_summary(filters: Filters) -> pl.DataFrame:
    """service, requests, errors, error_ratio, peak_p95_ms; busiest service first."""
    return _run(filters, "select_service_summary", filters.params())


def service_series(filters: Filters) -> pl.DataFrame:
    """Per-service buckets at the filters' grain: requests, errors, error_ratio, latency p50/p95/p99."""
    return _run(filters, "select_service_series", {**filters.params(), "grain": filters.grain})


def funnel_names(filters: Filters) -> list[str]:
    """The configured funnels with marts; empty when none is configured."""
    try:
        return _run(filters, "select_funnel_names", {})["funnel"].to_list()
    except OpsledgerError:
        return []


def funnel_steps(filters: Filters, funnel: str) -> pl.DataFrame:
    """step, event, count, conversions and step-to-step times of one funnel (all its people)."""
    return _run(filters, "select_funnel_steps", {"funnel": funnel})


def funnel_trends(filters: Filters, funnel: str) -> pl.DataFrame:
    """period, entered, converted, conversion_rate per day of the step-1 time, within the filters."""
    params = filters.params()
    return _run(
        filters, "select_funnel_trends", {"funnel": funnel, "start": params["start"], "end": params["end"]}
    )


def funnel_time_to_convert(filters: Filters, funnel: str) -> pl.DataFrame:
    """bin_start_s, bin_end_s, count: seconds from the first to the last step."""
    return _run(filters, "select_funnel_time_to_convert", {"funnel": funnel})


def funnel_why(filters: Filters, funnel: str, step: int) -> pl.DataFrame:
    """Per service: error and slow-request shares of those who dropped off at ``step`` (reached
    ``step - 1``, not ``step``) vs those who converted to it."""
    return _run(filters, "select_funnel_why", {"funnel": funnel, "step": step})


def funnel_breakdown_properties(filters: Filters, funnel: str) -> list[str]:
    """The properties the funnel's breakdown mart holds; empty when it has none."""
    try:
        return _run(filters, "select_funnel_breakdown_properties", {"funnel": funnel})["property"].to_list()
    except OpsledgerError:
        return []


def funnel_breakdown(filters: Filters, funnel: str, prop: str) -> pl.DataFrame:
    """breakdown, step, event, count, conversions and times per value of ``prop``."""
    return _run(filters, "select_funnel_breakdown", {"funnel": funnel, "property": prop})


def funnel_people(filters: Filters, funnel: str, step: int, *, dropped: bool) -> pl.DataFrame:
    """unit, deepest_step, entered_at, breakdown of those who dropped off at ``step`` (reached
    ``step - 1``, not ``step``) or, with ``dropped=False``, converted to it."""
    return _run(filters, "select_funnel_people", {"funnel": funnel, "step": step, "dropped": dropped})


def _run(filters: Filters, name: str, params: dict[str, Any]) -> pl.DataFrame:
    path = filters.warehouse_path
    # Bound values must be hashable for the cache key: lists become tuples, restored in _query.
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    return _query(str(path), _stamp(path), name, frozen)


def _stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@st.cache_data(ttl=CACHE_TTL, show_spinner=False, max_entries=256)
def _query(warehouse_path: str, stamp: int, name: str, params: tuple[tuple[str, Any], ...]) -> pl.DataFrame:
    del stamp  # only part of the cache key
    bound = {k: list(v) if isinstance(v, tuple) else v for k, v in params}
    con = warehouse.connect(Path(warehouse_path), read_only=True)
    try:
        # The marts' buckets are UTC wall-clock timestamps; comparing them with the bound UTC
        # instants must not go through the server's local time zone.
        con.execute("set TimeZone = 'UTC'")
        return con.sql(sql.load(f"dashboards/{name}"), params=bound).pl()
    except duckdb.CatalogException:
        raise OpsledgerError(
            f"the warehouse at {warehouse_path} has no marts yet: run `opsledger build` (or `opsledger demo`)"
        ) from None
    finally:
        con.close()


def slo_status(filters: Filters) -> pl.DataFrame:
    """Every SLO objective and group at the newest data, least budget remaining first."""
    return _run(filters, "select_slo_status", {})


def _one_slo(filters: Filters, query: str, name: str) -> pl.DataFrame:
    """A query over one SLO's rows in the filters' days (the SLO pages ignore the service filter)."""
    params = filters.params()
    return _run(filters, query, {"name": name, "start": params["start"], "end": params["end"]})


def slo_history(filters: Filters, name: str) -> pl.DataFrame:
    """One SLO's state at the end of each day in the filters (its error-budget burn-down)."""
    return _one_slo(filters, "select_slo_history", name)


def slo_burn_rates(filters: Filters, name: str) -> pl.DataFrame:
    """One SLO's 1 h and 6 h burn rates at the end of each hour in the filters, with page thresholds."""
    return _one_slo(filters, "select_slo_burn_rates", name)


def slo_alerts(filters: Filters, name: str) -> pl.DataFrame:
    """One SLO's replayed page / ticket alert intervals overlapping the filters."""
    return _one_slo(filters, "select_slo_alerts", name)


def slo_policy_events(filters: Filters, name: str) -> pl.DataFrame:
    """One SLO's error-budget policy events overlapping the filters (budget exhausted, large incidents)."""
    return _one_slo(filters, "select_slo_policy_events", name)


def sla_months(filters: Filters) -> pl.DataFrame:
    """Every configured SLA per month: uptime, downtime, exclusions, met and credit."""
    return _run(filters, "select_slo_sla_months", {})
