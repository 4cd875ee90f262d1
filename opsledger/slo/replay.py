"""Burn-rate alerts replayed over history: when each page and ticket alert would have fired.

The alerts are the SRE Workbook's (ch. 5), as Sloth generates them: page on 1h/5m and 6h/30m,
ticket on 1d/2h and 3d/6h, with factors of 14.4 / 6 / 3 / 1 for a 30-day period and derived from
the same budget percentages for any other (``opsledger.slo.windows``). Unlike Prometheus rules,
the windows are exact and event-weighted, evaluated every minute
(``sql/slo/replay_burn_rate_alerts.sql``).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from opsledger import sql
from opsledger.contract import TS
from opsledger.slo.facts import FactsBuilder, build_facts
from opsledger.slo.periods import MINUTE, floor_minute, nominal_period
from opsledger.slo.spec import SLO
from opsledger.slo.windows import GOOGLE_30D, AlertWindows


def alert_windows_for(slo: SLO) -> AlertWindows:
    """Google's budget percentages and windows over the SLO's period (30 days for a month)."""
    base = GOOGLE_30D
    return AlertWindows(
        period=nominal_period(slo.time_window),
        page_quick=base.page_quick,
        page_slow=base.page_slow,
        ticket_quick=base.ticket_quick,
        ticket_slow=base.ticket_slow,
    )


def replay_alerts(
    con: duckdb.DuckDBPyConnection,
    slo: SLO,
    start: datetime,
    end: datetime,
    *,
    objective: int = 0,
    windows: AlertWindows | None = None,
    facts: FactsBuilder = build_facts,
) -> list[dict]:
    """Intervals [start, end) per group and severity (``page`` / ``ticket``) during which an alert
    evaluated at each minute instant in [start, end) would have fired."""
    windows = windows or alert_windows_for(slo)
    start, end = floor_minute(start), floor_minute(end)
    longest = max(w.long for w in windows.all)
    built = facts(con, slo, start - longest - MINUTE, end, objective=objective)
    table = replay_facts(con, built, slo.objectives[objective].error_budget, windows, start, end)
    return [
        {"name": slo.name, "objective": slo.objective_name(objective), **row} for row in table.to_pylist()
    ]


def replay_facts(
    con: duckdb.DuckDBPyConnection,
    facts: pa.Table,
    error_budget: float,
    windows: AlertWindows,
    start: datetime,
    end: datetime,
) -> pa.Table:
    """The alert intervals from facts already built; they must cover the longest window (and one
    minute) before start."""
    rules = [
        ("page", windows.page_quick),
        ("page", windows.page_slow),
        ("ticket", windows.ticket_quick),
        ("ticket", windows.ticket_slow),
    ]
    for _, window in rules:
        if window.long % MINUTE or window.short % MINUTE:
            raise ValueError("alert windows must be whole minutes (the grain of the facts)")
    params = {
        "severities": [severity for severity, _ in rules],
        "long_minutes": [int(w.long / MINUTE) for _, w in rules],
        "short_minutes": [int(w.short / MINUTE) for _, w in rules],
        "thresholds": [windows.factor(w) * error_budget for _, w in rules],
        "grid_start": start - MINUTE - max(w.long for _, w in rules),
        "start": start,
        "end": end,
    }
    result = sql.arrow(con, "slo/replay_burn_rate_alerts", params, slo_replay_facts=facts)
    return result.cast(
        pa.schema([("group", pa.string()), ("severity", pa.string()), ("start", TS), ("end", TS)])
    )
