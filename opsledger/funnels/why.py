"""Why they dropped: the backend experience of people who dropped off at a step, beside those who went on.

Steps follow PostHog's drop-off convention, the same as ``funnel_people`` and ``--dropoffs``: the
people who *dropped off at step k* reached step k − 1 but not step k. They and those who converted
to step k are each given the log records of their window ``[t, t + after]`` (t = the counted
attempt's step-(k − 1) time, so both groups are measured from the same moment in their journey). A
log record is theirs when it carries the step-(k − 1) event's person (``log_records.user_id =
distinct_id``, or any distinct_id the funnel's identity mapping gives the person), its session (the
log's ``labels.session_id`` or top-level ``session_id``) or its request's ``trace_id``. Errors are
5xx responses or error/fatal/critical levels. Comparing against the converted group is what
separates a cause from background noise: a service that fails for everyone is not why some people
left.

Everything is a handful of joins over temp tables named ``why_*`` (and the engine's ``funnel_*``),
dropped afterwards; one evaluation per connection at a time.
"""

from __future__ import annotations

from typing import Any

import duckdb

from opsledger import sql
from opsledger.errors import OpsledgerError
from opsledger.funnels.conditions import unit_sql
from opsledger.funnels.engine import evaluated
from opsledger.funnels.identities import mapping_sql
from opsledger.funnels.spec import FunnelSpec, parse_window

_TEMP_TABLES = ("why_matches", "why_logs", "why_ids", "why_people")
# Default "slow request": the threshold past which the demo shop logs requests at warn and shoppers
# start giving up (opsledger.demo.model.SLOW_S); callers with their own latency SLO pass theirs.
SLOW_MS = 500.0
# With an identity mapping, every distinct_id of the person is also a user id their logs may carry.
_PERSON_IDS = (
    "union all select p.person, 'user', i.distinct_id "
    "from why_people as p join ({mapping}) as i on i.person_id = p.unit"
)


def why_dropped(
    con: duckdb.DuckDBPyConnection,
    spec: FunnelSpec,
    step: int,
    *,
    after: str | int = "30m",
    slow_ms: float = SLOW_MS,
) -> dict[str, Any]:
    """Backend errors and latency after step ``step - 1`` for those who dropped off at ``step``
    (reached ``step - 1``, not ``step``) vs those who converted to it.

    Returns ``step``, ``event`` (step ``step``'s name, the one the dropped did not reach),
    ``previous_event`` (step ``step - 1``, where the window starts), ``after_seconds``, and Arrow
    tables: ``summary`` (one row per outcome, dropped first: people, people_with_logs,
    people_with_errors, error_share, error_events, errors_per_person, people_with_slow_requests,
    slow_share, p50/p95_duration_ms) and ``services`` (per service: each group's share of people
    who met its errors, the difference and the lift, error events, the share who met a request of
    at least ``slow_ms`` and p95 duration per group; most over-represented first).
    """
    if not 2 <= step <= len(spec.steps):
        raise OpsledgerError(f"why they dropped: step must be between 2 and {len(spec.steps)}")
    try:
        after_seconds = parse_window(after)
    except ValueError as exc:
        raise OpsledgerError(f"why they dropped: after {exc}") from None
    unit, join, unit_params = unit_sql(spec)
    params = {
        "from_step": step - 1,
        "event": spec.steps[step - 2].event,
        "after_us": after_seconds * 1_000_000,
        "slow_ms": slow_ms,
        **unit_params,
    }
    person_ids = _PERSON_IDS.replace("{mapping}", mapping_sql(spec.identities)) if join else ""
    try:
        with evaluated(con, spec):
            sql.execute(con, "funnels/why_create_people", params)
        pieces = {"unit": unit, "identity_join": join, "person_ids": person_ids}
        sql.execute(con, "funnels/why_create_ids", params, pieces)
        sql.execute(con, "funnels/why_create_logs", params)
        sql.execute(con, "funnels/why_create_matches", params)
        summary = sql.arrow(con, "funnels/why_select_summary")
        services = sql.arrow(con, "funnels/why_select_services")
    except duckdb.CatalogException as exc:
        raise OpsledgerError(f"why they dropped: {str(exc).splitlines()[0]}") from None
    finally:
        for table in _TEMP_TABLES:
            con.execute(f"drop table if exists temp.{table}")
    return {
        "step": step,
        "event": spec.steps[step - 1].event,
        "previous_event": spec.steps[step - 2].event,
        "after_seconds": after_seconds,
        "summary": summary,
        "services": services,
    }
