"""Why they dropped: the backend experience of people who stopped at a step, next to those who went on.

For a funnel step k, the people whose counted attempt reached k but not k + 1 (dropped) and those
who reached k + 1 (converted) are each given the log records of their window ``[t_k, t_k + after]``
(t_k = the counted attempt's step-k time, so both groups are measured from the same moment in
their journey). A log record is theirs when it carries the step-k event's person
(``log_records.user_id = distinct_id``), its session (the log's ``labels.session_id`` or top-level
``session_id``) or its request's ``trace_id``. Errors are 5xx responses or error/fatal/critical
levels. Comparing against the converted group is what separates a cause from background noise: a
service that fails for everyone is not why some people left.

Everything is a handful of joins over temp tables named ``why_*`` (and the engine's ``funnel_*``),
dropped afterwards; one evaluation per connection at a time.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from opsledger import sql
from opsledger.errors import OpsledgerError
from opsledger.funnels.conditions import UNIT_COLUMNS
from opsledger.funnels.engine import evaluated
from opsledger.funnels.spec import FunnelSpec, parse_window

_TEMP_TABLES = ("why_matches", "why_logs", "why_ids", "why_people")
# Default "slow request": the threshold past which the demo shop logs requests at warn and shoppers
# start giving up (opsledger.demo.model.SLOW_S); callers with their own latency SLO pass theirs.
SLOW_MS = 500.0


def _execute(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any], unit: str = "") -> None:
    # {unit} is only ever a value of UNIT_COLUMNS (an allow-list of column names), never user text.
    text = sql.load(f"funnels/{name}").replace("{unit}", unit)
    con.execute(text, {k: v for k, v in params.items() if f"${k}" in text})


def _select(con: duckdb.DuckDBPyConnection, name: str) -> pa.Table:
    return con.sql(sql.load(f"funnels/{name}")).to_arrow_table()


def why_dropped(
    con: duckdb.DuckDBPyConnection,
    spec: FunnelSpec,
    step: int,
    *,
    after: str | int = "30m",
    slow_ms: float = SLOW_MS,
) -> dict[str, Any]:
    """Backend errors and latency after step ``step`` for those who dropped before ``step + 1`` vs
    those who converted to it.

    Returns ``step``, ``event`` / ``next_event`` (the two step names), ``after_seconds``, and Arrow
    tables: ``summary`` (one row per outcome, dropped first: people, people_with_logs,
    people_with_errors, error_share, error_events, errors_per_person, people_with_slow_requests,
    slow_share, p50/p95_duration_ms) and ``services`` (per service: each group's share of people
    who met its errors, the difference and the lift, error events, the share who met a request of
    at least ``slow_ms`` and p95 duration per group; most over-represented first).
    """
    if not 1 <= step < len(spec.steps):
        raise OpsledgerError(f"why they dropped: step must be between 1 and {len(spec.steps) - 1}")
    try:
        after_seconds = parse_window(after)
    except ValueError as exc:
        raise OpsledgerError(f"why they dropped: after {exc}") from None
    params = {
        "k": step,
        "event": spec.steps[step - 1].event,
        "after_us": after_seconds * 1_000_000,
        "slow_ms": slow_ms,
    }
    try:
        with evaluated(con, spec):
            _execute(con, "why_create_people", params)
        _execute(con, "why_create_ids", params, unit=UNIT_COLUMNS[spec.count])
        _execute(con, "why_create_logs", params)
        _execute(con, "why_create_matches", params)
        summary = _select(con, "why_select_summary")
        services = _select(con, "why_select_services")
    except duckdb.CatalogException as exc:
        raise OpsledgerError(f"why they dropped: {str(exc).splitlines()[0]}") from None
    finally:
        for table in _TEMP_TABLES:
            con.execute(f"drop table if exists temp.{table}")
    return {
        "step": step,
        "event": spec.steps[step - 1].event,
        "next_event": spec.steps[step].event,
        "after_seconds": after_seconds,
        "summary": summary,
        "services": services,
    }
