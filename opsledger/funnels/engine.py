"""The funnel engine: PostHog's funnel semantics computed over DuckDB, vectorized.

Ordered funnels (the default, and the large-data case) are evaluated by ``ordered``: one sorted
select, then every step found for all attempts at once by array lookups. Strict and unordered
funnels stay in SQL: every step-1 event starts an attempt and each further step is found for all
attempts by one join (the very next event for strict ones, a window lookup per step for unordered
ones); exclusions then mark attempts, and one window query keeps each unit's counted attempt
(``sql/funnels/create_funnel_best.sql``). Either way the result queries read ``funnel_best`` (a
temp table, or for ordered funnels a registered Arrow table); results are Arrow tables. The
statements use temp tables named ``funnel_*`` on the connection given, dropped (or unregistered)
afterwards; evaluate one funnel per connection at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import duckdb
import pyarrow as pa

from opsledger import sql
from opsledger.errors import OpsledgerError
from opsledger.funnels import ordered
from opsledger.funnels.conditions import events_statement, gap_us
from opsledger.funnels.spec import FunnelSpec

Grain = Literal["day", "week", "month"]
_TEMP_TABLES = ("funnel_best", "funnel_attempts", "funnel_chain", "funnel_events")


def _build(con: duckdb.DuckDBPyConnection, spec: FunnelSpec, grain: Grain | None) -> None:
    if spec.mode == "ordered":
        ordered.create_funnel_best(con, spec, grain)
        return
    window_us = spec.window_seconds * 1_000_000
    text, params = events_statement(sql.load("funnels/create_funnel_events"), spec)
    con.execute(text, sql.bind(text, params))
    n = len(spec.steps)
    if spec.mode == "unordered":
        sql.execute(con, "funnels/create_unordered_anchors")
        for k in range(1, n + 1):
            sql.execute(con, "funnels/extend_unordered_chain", {"k": k, "window_us": window_us})
        sql.execute(con, "funnels/create_unordered_attempts")
    else:
        sql.execute(con, "funnels/create_funnel_anchors")
        for k in range(2, n + 1):
            sql.execute(con, "funnels/extend_strict_chain", {"k": k, "gap_us": gap_us(spec, k)})
        sql.execute(con, "funnels/create_funnel_attempts", {"window_us": window_us})
    for i, exclusion in enumerate(spec.exclusions, start=1):
        sql.execute(
            con,
            "funnels/apply_funnel_exclusion",
            {"i": i, "from_step": exclusion.from_step, "to_step": exclusion.to_step, "window_us": window_us},
        )
    sql.execute(
        con,
        "funnels/create_funnel_best",
        {
            "per_attempt": spec.count == "totals",
            "grain": grain,
            "last_touch": spec.attribution == "last_touch",
        },
    )


# The funnel evaluated on each connection now (by id: a connection's entry lives only while open).
_EVALUATED: dict[int, tuple[FunnelSpec, Grain | None]] = {}


@contextmanager
def evaluated(con: duckdb.DuckDBPyConnection, spec: FunnelSpec, grain: Grain | None = None) -> Iterator[None]:
    """``funnel_best`` of ``spec`` on ``con`` while the block runs. Inside a block of the same funnel
    it is reused, so the result functions below can share one evaluation (the marts do)."""
    current = _EVALUATED.get(id(con))
    if current == (spec, grain):
        yield
        return
    if current is not None:
        raise RuntimeError("one funnel per connection at a time: another is evaluated on it")
    _EVALUATED[id(con)] = (spec, grain)
    try:
        _build(con, spec, grain)
        yield
    except duckdb.CatalogException as exc:
        raise OpsledgerError(f"funnel: {str(exc).splitlines()[0]}") from None
    finally:
        del _EVALUATED[id(con)]
        con.unregister("funnel_best")  # the ordered engine's Arrow view; no-op otherwise
        for table in _TEMP_TABLES:
            con.execute(f"drop table if exists temp.{table}")


def funnel_steps(con: duckdb.DuckDBPyConnection, spec: FunnelSpec) -> pa.Table:
    """Per step: count, conversion from start and from the previous step, average and median
    seconds from the previous step. Rows with ``is_total`` are the whole funnel; the others are
    one group per breakdown value (only when the spec has a breakdown)."""
    with evaluated(con, spec):
        params = {"n": len(spec.steps), "events": spec.step_names, "by_breakdown": spec.breakdown is not None}
        table = sql.arrow(con, "funnels/select_funnel_steps", params)
    if spec.breakdown is None:
        return table.filter(table["is_total"])
    # A left join gives an empty funnel its zero rows; drop the phantom group it adds for breakdowns.
    entered = {
        (row["breakdown"]): row["count"]
        for row in table.filter(pa.compute.equal(table["step"], 1)).to_pylist()
        if not row["is_total"]
    }
    keep = [row["is_total"] or entered.get(row["breakdown"], 0) > 0 for row in table.to_pylist()]
    return table.filter(pa.array(keep))


def time_to_convert(
    con: duckdb.DuckDBPyConnection,
    spec: FunnelSpec,
    *,
    from_step: int = 1,
    to_step: int | None = None,
    bins: int | None = None,
) -> pa.Table:
    """Histogram of seconds from ``from_step`` to ``to_step`` (default: the last step) for the units
    that reached ``to_step``: ``bin_start_s``, ``bin_end_s``, ``count``."""
    to_step = to_step or len(spec.steps)
    if not 1 <= from_step < to_step <= len(spec.steps):
        raise OpsledgerError(f"time to convert: need 1 <= from step < to step <= {len(spec.steps)}")
    if bins is not None and bins < 1:
        raise OpsledgerError("time to convert: the bin count must be at least 1")
    with evaluated(con, spec):
        return sql.arrow(
            con, "funnels/select_time_to_convert", {"from_step": from_step, "to_step": to_step, "bins": bins}
        )


def funnel_trends(
    con: duckdb.DuckDBPyConnection, spec: FunnelSpec, grain: Grain, *, to_step: int | None = None
) -> pa.Table:
    """Conversion per day/week/month of the step-1 time (UTC): ``period``, ``entered``,
    ``converted`` (reached ``to_step``, default the last), ``conversion_rate``. A unit counts once
    per period, at its best attempt starting in that period."""
    if grain not in ("day", "week", "month"):
        raise OpsledgerError(f"trends: unknown period {grain!r} (day, week or month)")
    with evaluated(con, spec, grain):
        return sql.arrow(con, "funnels/select_funnel_trends", {"to_step": to_step or len(spec.steps)})


def funnel_people(
    con: duckdb.DuckDBPyConnection, spec: FunnelSpec, step: int, *, dropped: bool = True
) -> pa.Table:
    """Units that dropped off before ``step`` (reached ``step - 1`` but not ``step``), or with
    ``dropped=False`` those that converted to it: ``unit``, ``deepest_step``, ``entered_at``,
    ``breakdown``."""
    if not 2 <= step <= len(spec.steps):
        raise OpsledgerError(f"drop-offs: step must be between 2 and {len(spec.steps)}")
    with evaluated(con, spec):
        return sql.arrow(con, "funnels/select_funnel_people", {"step": step, "dropped": dropped})
