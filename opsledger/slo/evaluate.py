"""SLO evaluations at any instant and as daily history, vectorized in DuckDB over the facts.

Formulas are those all major tools agree on (``reference/slo.md``): SLI = good / total, error
budget = 1 − T, burn rate = error ratio / (1 − T), budget remaining = 1 − consumed (not clamped),
time to exhaustion = period / burn rate. Where tools differ the choices are Kibana's and are
documented in ``sql/slo/evaluate_windows.sql``. Status vocabulary is Kibana's: NO_DATA, HEALTHY
(SLI ≥ target), DEGRADING (below target, budget left), VIOLATED (budget remaining ≤ 0).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from opsledger import sql
from opsledger.slo.corrections import corrected_spans, remaining_slices
from opsledger.slo.durations import parse_prom_duration
from opsledger.slo.facts import FactsBuilder, build_facts
from opsledger.slo.periods import MINUTE, Window, floor_minute, window_at
from opsledger.slo.spec import SLO

BURN_RATE_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
BURN_RATE_DURATIONS = tuple(parse_prom_duration(w) for w in BURN_RATE_WINDOWS)
LONGEST_BURN_WINDOW = timedelta(days=3)
HOUR = timedelta(hours=1)


def evaluate(
    con: duckdb.DuckDBPyConnection, slo: SLO, at: datetime, *, facts: FactsBuilder = build_facts
) -> list[dict]:
    """One dict per objective and group: the state of ``slo`` at ``at`` (over complete minutes)."""
    return _evaluate_at(con, slo, [window_at(slo.time_window, at)], facts)


def history(
    con: duckdb.DuckDBPyConnection,
    slo: SLO,
    start: datetime,
    end: datetime,
    *,
    facts: FactsBuilder = build_facts,
) -> list[dict]:
    """The state at the end of each day (midnight in the SLO's time zone) in (start, end], each
    row with the ``date`` of the day that ended."""
    zone = ZoneInfo(slo.time_window.time_zone)
    local = floor_minute(start).astimezone(zone)
    day = local.date() + timedelta(days=1)
    instants = []
    while (moment := datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)) <= end:
        instants.append(moment)
        day += timedelta(days=1)
    if not instants:
        return []
    rows = _evaluate_at(con, slo, [window_at(slo.time_window, moment) for moment in instants], facts)
    for row in rows:
        row["date"] = (row["at"].astimezone(zone) - timedelta(days=1)).date()
    return rows


def facts_range(windows: list[Window]) -> tuple[datetime, datetime]:
    """The facts every window and burn-rate lookback needs."""
    start = min(min(w.start, w.at - LONGEST_BURN_WINDOW) for w in windows)
    return start, max(w.at for w in windows)


def _evaluate_at(con, slo: SLO, windows: list[Window], facts: FactsBuilder) -> list[dict]:
    start, end = facts_range(windows)
    rows: list[dict] = []
    for index in range(len(slo.objectives)):
        table = evaluate_facts(con, facts(con, slo, start, end, objective=index), slo, index, windows)
        for row in table.to_pylist():
            rows.append({"name": slo.name, "objective": slo.objective_name(index), **row})
    return rows


def evaluate_facts(con, facts: pa.Table, slo: SLO, objective: int, windows: list[Window]) -> pa.Table:
    """The evaluation of facts already built (e.g. a stored ``slo_facts`` table) at each window."""
    target = slo.objectives[objective]
    slice_window = target.time_slice_window
    if slice_window is not None and (slice_window < MINUTE or slice_window % MINUTE):
        raise ValueError(
            f"SLO {slo.name}: time slices must be whole minutes (the grain of the facts), got {slice_window}"
        )
    # Corrected minutes are gone from the facts, but an empty time slice would count as good: a
    # slice wholly corrected leaves the period instead (OpenSLO / Nobl9 corrections exclude time).
    spans = corrected_spans(con, slo.name) if slo.budgeting_method == "Timeslices" else []
    params = {
        "ats": [w.at for w in windows],
        "window_starts": [w.start for w in windows],
        "period_slices": [period_slices(w, slice_window, spans) for w in windows],
        "elapsed": [w.elapsed_fraction for w in windows],
        "period_hours": [w.length / HOUR for w in windows],
        "slice_seconds": slice_window.total_seconds() if slice_window else None,
        "slice_target": target.time_slice_target,
        "method": slo.budgeting_method,
        "calendar": not slo.time_window.rolling,
        "target": target.target,
        "error_budget": target.error_budget,
    }
    result = sql.arrow(con, "slo/evaluate_windows", params, slo_eval_facts=facts)
    return result.set_column(0, "at", result.column("at").cast(pa.timestamp("us", tz="UTC"))).set_column(
        1, "window_start", result.column("window_start").cast(pa.timestamp("us", tz="UTC"))
    )


def period_slices(
    window: Window, slice_window: timedelta | None, spans: list[tuple[datetime, datetime]]
) -> int | None:
    """The slices of ``window``'s whole period, less those wholly inside corrected ``spans``."""
    if slice_window is None:
        return None
    return remaining_slices(spans, window.start, window.end, slice_window)


def windowed_history(
    con: duckdb.DuckDBPyConnection,
    facts: pa.Table,
    slo: SLO,
    objective: int,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=5),
) -> pa.Table:
    """Error ratios and burn rates over 5m … 3d, SLI and budget remaining of a rolling Occurrences
    SLO at every instant ``start``, ``start + step``, … ≤ ``end``, per group: a history of what
    Sloth's recording rules record, exact and event-weighted. Each row equals ``evaluate_facts`` at
    its instant (the same sums); the facts must cover the period before ``start``. Corrections need
    nothing here: Occurrences only reads the (corrected) facts, it has no slices to remove."""
    period = slo.time_window.length
    if not slo.time_window.rolling or period is None or slo.budgeting_method != "Occurrences":
        raise ValueError(f"SLO {slo.name}: a windowed history needs a rolling Occurrences SLO")
    start, end = floor_minute(start), floor_minute(end)
    lengths = [*BURN_RATE_DURATIONS, period]
    if step < MINUTE or step % MINUTE or any(length % step for length in lengths):
        raise ValueError(f"the step {step} must be whole minutes dividing every window and the period")
    params = {
        "start": start,
        "end": end,
        "step": step,
        "grid_start": start - max(lengths),
        "lags": [length // step for length in lengths],
        "error_budget": slo.objectives[objective].error_budget,
    }
    result = sql.arrow(con, "slo/select_windowed_error_ratios", params, slo_step_facts=facts)
    return result.set_column(0, "at", result.column("at").cast(pa.timestamp("us", tz="UTC")))
