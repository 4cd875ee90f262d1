"""Error-budget policy events: the moments an error-budget policy (SRE Workbook ch. 5 / App. B,
"Example Error Budget Policy") acts on, found over history per SLO objective and group.

* ``budget_exhausted`` — the first minute (slice) whose events bring the remaining budget of the
  SLO's window to ≤ 0, and, in a rolling window, the first one with budget left again ("end";
  null while still exhausted at the end of the data). The remaining budget is the status'
  (``1 − consumed``, VIOLATED at ≤ 0), evaluated at the end of every slice; in a calendar window
  the budget is the whole period's — (1 − T) × its events so far — so a finished period is judged
  in hindsight and an exhausted period stays exhausted until it ends.
* ``incident_over_20pct`` — one incident whose bad events exceed 20 % of the period's budget
  (budget events = (1 − T) × the period's total events; bad slices and (1 − T) × slices for
  Timeslices). An incident is a run of slices whose own SLI is below the objective (more failures
  than the budget rate allows: the downtime rule of SLAs), runs separated by fewer than
  ``GAP_MINUTES`` good or empty minutes merged into one; its bad events are all those in its span.
  The period is the calendar period it started in or, rolling, the window ending when it ended —
  while the data is younger than one window, the first whole window (or all the data), so an
  incident in the first hours is not judged against the few events before it.

The SQL is vectorized over a dense slice grid (``sql/slo/policy_slice_grid.sql``, the budget scope
of each slice from ``policy_scope_rolling.sql`` or ``policy_scope_calendar.sql``, then
``select_budget_exhaustions.sql``, ``select_budget_incidents.sql``); facts are the corrected ones,
so corrected minutes neither cause nor count in an event, and for Timeslices the slices an SLO
correction wholly covers leave the slice budget (``opsledger.slo.corrections``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from opsledger import sql
from opsledger.contract import TS
from opsledger.slo.corrections import corrected_spans, remaining_slices
from opsledger.slo.facts import FactsBuilder, build_facts
from opsledger.slo.periods import MINUTE, calendar_period, floor_minute
from opsledger.slo.spec import SLO

INCIDENT_SHARE = 0.2
# Two bursts of failures less than 5 minutes apart are one incident: shorter gaps are what a
# flapping dependency or a restart loop look like, not a recovery.
GAP_MINUTES = 5
EVENT_SCHEMA = pa.schema(
    [
        ("group", pa.string()),
        ("event", pa.string()),
        ("start", TS),
        ("end", TS),
        ("period_start", TS),
        ("period_end", TS),
        ("bad", pa.float64()),
        ("budget", pa.float64()),
        ("budget_share", pa.float64()),
        ("minutes", pa.int64()),
    ]
)


def policy_events(
    con: duckdb.DuckDBPyConnection,
    slo: SLO,
    start: datetime,
    end: datetime,
    *,
    facts: FactsBuilder = build_facts,
) -> list[dict]:
    """Policy events of every objective and group of ``slo`` overlapping [start, end), oldest first."""
    start, end = floor_minute(start), floor_minute(end)
    spans = corrected_spans(con, slo.name) if slo.budgeting_method == "Timeslices" else []
    rows: list[dict] = []
    for index, objective in enumerate(slo.objectives):
        slice_window = objective.time_slice_window if slo.budgeting_method != "Occurrences" else None
        slice_minutes = 1 if slice_window is None else _whole_minutes(slo, slice_window)
        params = {
            "method": slo.budgeting_method,
            "slice_minutes": slice_minutes,
            "slice_target": objective.time_slice_target,
            "target": objective.target,
            "error_budget": objective.error_budget,
            "end": end,
            "rolling": slo.time_window.rolling,
            "window_minutes": None,
            "correction_starts": [span[0] for span in spans],
            "correction_ends": [span[1] for span in spans],
        }
        if slo.time_window.rolling:
            window = slo.time_window.length
            params["window_minutes"] = _whole_minutes(slo, window)
            lo = start - window
        else:
            periods = _calendar_periods(slo, start, end)
            params["period_starts"] = [p[0] for p in periods]
            params["period_ends"] = [p[1] for p in periods]
            size = slice_minutes * MINUTE
            params["period_slices"] = [remaining_slices(spans, a, b, size) for a, b in periods]
            lo = periods[0][0]
        table = policy_events_of(con, facts(con, slo, lo, end, objective=index), params, start)
        keys = {"name": slo.name, "objective": slo.objective_name(index)}
        rows += [{**keys, **row} for row in table.to_pylist()]
    return sorted(rows, key=lambda r: (r["start"], r["objective"], r["group"], r["event"]))


def policy_events_of(
    con: duckdb.DuckDBPyConnection, facts: pa.Table, params: dict, start: datetime
) -> pa.Table:
    """Both kinds of events from facts already built, as ``EVENT_SCHEMA``."""
    running = sql.arrow(con, "slo/policy_slice_grid", params, slo_policy_facts=facts)
    scope = "slo/policy_scope_rolling" if params["rolling"] else "slo/policy_scope_calendar"
    grid = sql.arrow(con, scope, params, slo_policy_running=running)
    exhausted = sql.arrow(con, "slo/select_budget_exhaustions", {"start": start}, slo_policy_grid=grid)
    incident_params = {
        "start": start,
        "rolling": params["rolling"],
        "window_minutes": params["window_minutes"] or 0,
        "slice_minutes": params["slice_minutes"],
        "gap_minutes": GAP_MINUTES,
        "incident_share": INCIDENT_SHARE,
    }
    incidents = sql.arrow(con, "slo/select_budget_incidents", incident_params, slo_policy_grid=grid)
    return pa.concat_tables([exhausted.cast(EVENT_SCHEMA), incidents.cast(EVENT_SCHEMA)])


def describe(event: dict) -> str:
    """One line a person reads, e.g. ``incident_over_20pct 2026-10-01 13:52–14:37 UTC (532% of budget)``."""
    span = f"{event['start']:%Y-%m-%d %H:%M}"
    if event["end"] is not None:
        span += (
            f"–{event['end']:%H:%M}"
            if event["end"].date() == event["start"].date()
            else (f" – {event['end']:%Y-%m-%d %H:%M}")
        )
    share = f"{event['budget_share']:.0%} of budget"
    if event["event"] == "budget_exhausted" and event["end"] is None:
        share = "still exhausted"
    group = f" [{event['group']}]" if event.get("group") else ""
    return f"{event['event']}{group} {span} UTC ({share})"


def _calendar_periods(slo: SLO, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    periods = [calendar_period(slo.time_window, start)]
    while periods[-1][1] < end:
        periods.append(calendar_period(slo.time_window, periods[-1][1]))
    return periods


def _whole_minutes(slo: SLO, length: timedelta) -> int:
    if length < MINUTE or length % MINUTE:
        raise ValueError(f"SLO {slo.name}: {length} is not whole minutes (the grain of the facts)")
    return int(length / MINUTE)
