"""Ordered funnels in one sorted pass: array lookups instead of a join per step.

An ordered step is "the earliest step-k event at or after the previous step". In SQL that is an
ASOF join per step, each sorting every live attempt by unit and time again, and then a window sort
to choose the counted attempt. Here the funnel's events are sorted by unit and time once
(``sql/funnels/select_ordered_events.sql``). After that, "the first step-k event at or after
position p" is a binary search in the sorted positions of the step-k events, done for all attempts
at once. The exclusions are found the same way, and the counted attempt per unit is a segmented
maximum. All of it is numpy over the Arrow columns, with no per-unit loop; attempts and units are
independent, so two threads take a range each (numpy releases the GIL inside its operations).

The semantics are those of the SQL modes (``create_funnel_best.sql``: deepest attempt, clean
before excluded, first to get there, then the latest step-1); ``tests/engines/funnels`` checks
this module against the reference vectors and the per-person reference implementation.
The result is ``funnel_best``, which the result queries read (here a registered Arrow table).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opsledger import sql
from opsledger.buffers import as_arrow, numbers
from opsledger.errors import OpsledgerError
from opsledger.funnels.conditions import events_statement, gap_us
from opsledger.funnels.spec import FunnelSpec

_WORKERS = max(1, min(4, os.cpu_count() or 1))
# The units' sort key (tests make it collide on purpose).
_UNIT_HASH = "hash(unit)"
# Positions fit in 40 bits of the attempt ranking key (a trillion events).
_POSITION_BITS = 40


@dataclass(frozen=True)
class _Events:
    """The funnel's events sorted by unit, then time, plus a sentinel at position ``size``.
    Positions are int32 (the arrays are walked many times; half the memory to move)."""

    unit: pa.ChunkedArray
    bd: pa.ChunkedArray | None  # the breakdown value (with a breakdown only)
    t: np.ndarray  # epoch microseconds (sentinel: 0)
    step_bits: np.ndarray
    exclusion_bits: np.ndarray | None  # (with exclusions only)
    period: np.ndarray | None  # step-1 period start, epoch microseconds (trends only)
    unit_id: np.ndarray  # 1, 2, … per unit (sentinel: 0, no unit)
    unit_starts: np.ndarray  # the first position of each unit, then the sentinel
    instant: np.ndarray  # per position: the index of its (unit, time) in ``starts``
    starts: np.ndarray  # the first position of each (unit, time), then the sentinel

    @property
    def size(self) -> int:
        return len(self.unit_id) - 1

    def unit_end(self, positions: np.ndarray) -> np.ndarray:
        """The position after the last event of the same unit."""
        return self.unit_starts[self.unit_id[positions]]

    def tie_start(self, positions: np.ndarray) -> np.ndarray:
        """The first position of the same unit and time (an order of time within a unit)."""
        return self.starts[self.instant[positions]]

    def tie_end(self, positions: np.ndarray) -> np.ndarray:
        """The position after the last of the same unit and time."""
        return self.starts[self.instant[positions] + 1]

    def marked(self, bits: np.ndarray, bit: int) -> np.ndarray:
        """The positions whose ``bit`` is set in ``bits``, then the sentinel."""
        return np.append(np.flatnonzero(bits & (1 << bit)).astype(np.int32), np.int32(self.size))


def _first_at_or_after(marked: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """For each of ``positions``: the first of ``marked`` (ascending, sentinel-terminated) at or
    after it."""
    return marked[np.searchsorted(marked, positions)]


def _parts(count: int, first: np.ndarray | None = None) -> list[tuple[int, int]]:
    """``count`` items as up to _WORKERS contiguous ranges, cut only where ``first`` is set."""
    cuts = [count * i // _WORKERS for i in range(_WORKERS + 1)]
    if first is not None:
        group_starts = np.append(np.flatnonzero(first), count)
        cuts = [int(group_starts[np.searchsorted(group_starts, cut)]) for cut in cuts]
    return [(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:], strict=True) if lo < hi]


def _bits(name: str, count: int) -> str:
    # Text made from the count alone: steps[1] → bit 0, … (a null match is no match).
    terms = [f"(coalesce({name}[{i}], false)::uinteger << {i - 1})" for i in range(1, count + 1)]
    return " | ".join(terms) or "0::uinteger"


def _select(con: duckdb.DuckDBPyConnection, spec: FunnelSpec, grain: str | None, unit_order: str) -> pa.Table:
    optional = [
        f", {_bits('excl', len(spec.exclusions))} as exclusion_bits" if spec.exclusions else "",
        ", bd" if spec.breakdown is not None else "",
        ", epoch_us(date_trunc($grain, make_timestamp(t))) as period" if grain is not None else "",
    ]
    template = (
        sql.load("funnels/select_ordered_events")
        .replace("{step_bits}", _bits("steps", len(spec.steps)))
        .replace("{optional_columns}", "".join(optional))
        .replace("{unit_order}", unit_order)
        .replace("{ties}", ", bd" if spec.breakdown is not None else "")
        .replace("{unit_hash}", _UNIT_HASH)
    )
    text, params = events_statement(template, spec)
    params["grain"] = grain
    return con.sql(text, params=sql.bind(text, params)).to_arrow_table()


def _unit_starts(units: pa.ChunkedArray) -> np.ndarray:
    """Where a new unit starts, from the unit values themselves (sorted by unit or its hash)."""
    unit = units.combine_chunks()
    new_unit = np.ones(len(unit), dtype=bool)
    if len(unit) > 1:
        differs = pc.cast(pc.not_equal(unit.slice(1), unit.slice(0, len(unit) - 1)), pa.uint8())
        new_unit[1:] = numbers(pa.chunked_array([differs]), np.uint8) == 1
    return new_unit


def _sorted_events(con: duckdb.DuckDBPyConnection, spec: FunnelSpec, grain: str | None,
                   pool: ThreadPoolExecutor) -> _Events:  # fmt: skip
    """Sorted by the units' hash, a unit starts where the hash changes, unless two units share a
    hash: then their events interleave and the unit values tell other starts. So the (costlier)
    check on the values runs beside the rest of the preparation, and only a mismatch, which is
    vanishingly rare, sorts again by the unit itself."""
    table = _select(con, spec, grain, "unit_hash")
    from_values = pool.submit(_unit_starts, table["unit"])
    hashes = numbers(table["unit_hash"], np.uint64)
    new_unit = np.ones(len(hashes), dtype=bool)
    new_unit[1:] = hashes[1:] != hashes[:-1]
    events = _events(table, new_unit)
    if np.array_equal(from_values.result(), new_unit):
        return events
    table = _select(con, spec, grain, "unit")
    return _events(table, _unit_starts(table["unit"]))


def _events(table: pa.Table, new_unit: np.ndarray) -> _Events:
    size = len(new_unit)
    if size >= 2**31 - 1:
        raise OpsledgerError(f"funnel: {size:,} events is more than an ordered funnel takes (2**31 - 2)")
    t = np.append(numbers(table["t"], np.int64), np.int64(0))
    new_instant = new_unit.copy()
    new_instant[1:] |= t[1:size] != t[: size - 1]
    starts = np.append(np.flatnonzero(new_instant).astype(np.int32), np.int32(size))
    instant = np.cumsum(new_instant, dtype=np.int32)
    instant -= 1
    columns = table.column_names
    return _Events(
        unit=table["unit"],
        bd=table["bd"] if "bd" in columns else None,
        t=t,
        step_bits=numbers(table["step_bits"], np.uint32),
        exclusion_bits=numbers(table["exclusion_bits"], np.uint32) if "exclusion_bits" in columns else None,
        period=numbers(table["period"], np.int64) if "period" in columns else None,
        unit_id=np.append(np.cumsum(new_unit, dtype=np.int32), np.int32(0)),
        unit_starts=np.append(np.flatnonzero(new_unit).astype(np.int32), np.int32(size)),
        instant=np.append(instant, np.int32(len(starts) - 1)),
        starts=starts,
    )


@dataclass(frozen=True)
class _Attempts:
    anchors: np.ndarray  # each attempt's step-1 position, in unit-then-time order
    rows: np.ndarray  # per attempt and step, the position that reached it (sentinel: not reached)
    depth: np.ndarray  # the steps reached


def _chains(events: _Events, spec: FunnelSpec, pool: ThreadPoolExecutor) -> _Attempts:
    """Every step-1 event starts an attempt (re-entry: each is tried). Each next step is the
    earliest step-k event at or after the previous step (strictly after when the step's event
    appears earlier in the funnel), within the window from step 1 (inclusive). Taking the earliest
    is optimal: a later one can only reach fewer steps. An attempt that misses a step stops.
    Attempts are independent, so the workers take a range each."""
    window_us = spec.window_seconds * 1_000_000
    anchors = np.flatnonzero(events.step_bits & 1).astype(np.int32)
    rows = np.full((len(anchors), len(spec.steps)), events.size, dtype=np.int32)
    rows[:, 0] = anchors
    depth = np.ones(len(anchors), dtype=np.int64)
    marked = list(pool.map(lambda k: events.marked(events.step_bits, k), range(1, len(spec.steps))))

    def chain(lo: int, hi: int) -> None:
        live, at = np.arange(lo, hi, dtype=np.int32), anchors[lo:hi]
        start_t, unit_end = events.t[at], events.unit_end(at)
        for k in range(1, len(spec.steps)):
            after = events.tie_end(at) if gap_us(spec, k + 1) else events.tie_start(at)
            found = _first_at_or_after(marked[k - 1], after)
            reached = (found < unit_end) & (events.t[found] - start_t <= window_us)
            live, at, start_t, unit_end = live[reached], found[reached], start_t[reached], unit_end[reached]
            rows[live, k] = at
            depth[live] = k + 1

    list(pool.map(lambda part: chain(*part), _parts(len(anchors))))
    return _Attempts(anchors, rows, depth)


def _excluded_at(events: _Events, spec: FunnelSpec, attempts: _Attempts) -> np.ndarray:
    """Per attempt, the from-step of the exclusion that stops it earliest (0: clean). An exclusion
    event counts after its from-step and before its to-step or, when the to-step was not reached,
    inside the window from step 1."""
    window_us = spec.window_seconds * 1_000_000
    excluded_at = np.zeros(len(attempts.anchors), dtype=np.int64)
    for i, exclusion in enumerate(spec.exclusions):
        some = np.flatnonzero(attempts.depth >= exclusion.from_step)
        after = events.tie_end(attempts.rows[some, exclusion.from_step - 1])
        found = _first_at_or_after(events.marked(events.exclusion_bits, i), after)
        inside = np.where(
            attempts.depth[some] >= exclusion.to_step,
            events.t[found] < events.t[attempts.rows[some, exclusion.to_step - 1]],
            events.t[found] - events.t[attempts.anchors[some]] <= window_us,
        )
        hit = some[inside & (found < events.unit_end(attempts.anchors[some]))]
        earlier = (excluded_at[hit] > 0) & (excluded_at[hit] < exclusion.from_step)
        excluded_at[hit] = np.where(earlier, excluded_at[hit], exclusion.from_step)
    return excluded_at


def _counted(events: _Events, attempts: _Attempts, excluded_at: np.ndarray, per_attempt: bool,
             pool: ThreadPoolExecutor) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The counted attempt per unit (and per step-1 period for trends; every clean attempt for
    totals) and the step each attempt reached: the deepest decides; if no clean attempt got that
    deep the unit is dropped; among clean ones the first to get there wins, ties going to the latest
    step-1. Anchors are in unit-then-time order, so that last tie-break is the last of a group.
    Groups are independent, so the workers take a range of whole groups each."""
    clean = excluded_at == 0
    reached = np.where(clean, attempts.depth, excluded_at)
    if per_attempt:
        return np.flatnonzero(clean), reached
    unit = events.unit_id[attempts.anchors]
    first = np.ones(len(unit), dtype=bool)
    first[1:] = unit[1:] != unit[:-1]
    if events.period is not None:
        period = events.period[attempts.anchors]
        first[1:] |= period[1:] != period[:-1]

    def choose(lo: int, hi: int) -> np.ndarray:
        at = attempts.rows[np.arange(lo, hi), reached[lo:hi] - 1]
        when = events.tie_start(at).astype(np.int64)  # equal ⇔ same time
        rank = ((2 * reached[lo:hi] + clean[lo:hi]) << _POSITION_BITS) + ((1 << _POSITION_BITS) - 1 - when)
        group = np.cumsum(first[lo:hi]) - 1
        top = np.flatnonzero(rank == np.maximum.reduceat(rank, np.flatnonzero(first[lo:hi]))[group])
        return lo + top[np.append(group[top][1:] != group[top][:-1], True)]

    chosen = np.concatenate(
        [np.zeros(0, dtype=np.int64), *pool.map(lambda part: choose(*part), _parts(len(unit), first))]
    )
    return chosen[clean[chosen]], reached


def _best_table(events: _Events, attempts: _Attempts, chosen: np.ndarray, reached: np.ndarray,
                last_touch: bool, pool: ThreadPoolExecutor) -> pa.Table:  # fmt: skip
    """``funnel_best``: unit, attempt, reached, levels (the times of the steps reached), the
    breakdown value (of step 1, or of the last step reached for last touch) and the period."""
    rows, anchors, reached = attempts.rows[chosen], attempts.anchors[chosen], reached[chosen]
    unit = pool.submit(events.unit.take, as_arrow(anchors, pa.int32()))
    mask = rows < events.size
    offsets = np.append(np.int32(0), np.cumsum(attempts.depth[chosen], dtype=np.int32))
    touch = rows[np.arange(len(chosen)), reached - 1] if last_touch else anchors
    breakdown = pa.nulls(len(chosen), pa.string())
    if events.bd is not None:
        breakdown = events.bd.take(as_arrow(touch.astype(np.int32), pa.int32()))
    period = pa.nulls(len(chosen), pa.timestamp("us"))
    if events.period is not None:
        period = as_arrow(events.period[anchors], pa.timestamp("us"))
    return pa.table(
        {
            "unit": unit.result(),
            "attempt": as_arrow(anchors.astype(np.int64), pa.int64()),
            "reached": as_arrow(reached.astype(np.int64), pa.int64()),
            "levels": pa.ListArray.from_arrays(
                as_arrow(offsets, pa.int32()), as_arrow(events.t[rows[mask]], pa.int64())
            ),
            "breakdown": breakdown,
            "period": period,
        }
    )


@contextmanager
def _regular_pages() -> Iterator[None]:
    """numpy asks the kernel for transparent huge pages for large arrays. Where the kernel then
    compacts memory synchronously to find them (``defrag = madvise``, as on our 2-core VMs), this
    engine's many short-lived arrays stalled for ~0.4 s a funnel (a third of its time). So it
    uses regular pages while it runs. The switch is the one numpy itself sets from
    NUMPY_MADVISE_HUGEPAGE at import; where a numpy lacks it, nothing changes."""
    switch = getattr(getattr(np, "_core", None), "multiarray", None)
    switch = getattr(switch, "_set_madvise_hugepage", None)
    previous = switch(False) if switch else None
    try:
        yield
    finally:
        if switch:
            switch(previous)


def create_funnel_best(con: duckdb.DuckDBPyConnection, spec: FunnelSpec, grain: str | None) -> None:
    """Evaluate an ordered funnel into ``funnel_best`` (see the module docstring), a view over an
    Arrow table that the caller must unregister."""
    with _regular_pages(), ThreadPoolExecutor(_WORKERS) as pool:
        events = _sorted_events(con, spec, grain, pool)
        attempts = _chains(events, spec, pool)
        excluded_at = _excluded_at(events, spec, attempts)
        chosen, reached = _counted(events, attempts, excluded_at, spec.count == "totals", pool)
        best = _best_table(events, attempts, chosen, reached, spec.attribution == "last_touch", pool)
    # A view over the Arrow table, not a copy (``engine.evaluated`` unregisters it)
    con.register("funnel_best", best)
