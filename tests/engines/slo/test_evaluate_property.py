"""Property tests: the vectorized SQL engine against deliberately simple per-minute Python
reference implementations, on random streams with gaps, zero-traffic minutes, counter resets,
calendar periods across DST changes and months of 28–31 days."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from opsledger.contract import table_from_pydict
from opsledger.slo.durations import Shorthand
from opsledger.slo.evaluate import evaluate_facts
from opsledger.slo.facts import FACTS_SCHEMA, build_facts
from opsledger.slo.periods import window_at
from opsledger.slo.replay import replay_facts
from opsledger.slo.spec import SLO, Objective, Origin, PrometheusSource, RatioIndicator, TimeWindow
from opsledger.slo.windows import AlertWindows, BurnWindow

T0 = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SETTINGS = settings(max_examples=50, deadline=None, database=None)

# A minute is absent (None: no data) or has (good, total) events, zero traffic included.
minute_counts = st.one_of(
    st.none(), st.integers(0, 12).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))
)


def make_slo(target: float, method: str, window: TimeWindow, slice_minutes: int, slice_target: float) -> SLO:
    uses_slices = method != "Occurrences"
    return SLO(
        name="p",
        service="p",
        objectives=(
            Objective(
                target=target,
                target_percent=target * 100,
                time_slice_window=slice_minutes * MINUTE if uses_slices else None,
                time_slice_target=slice_target if method == "Timeslices" else None,
            ),
        ),
        time_window=window,
        budgeting_method=method,
        indicator=RatioIndicator(
            good=PrometheusSource(query='requests_total{code="200"}'),
            total=PrometheusSource(query="requests_total"),
        ),
        origin=Origin(path=Path("p.yaml"), format="openslo/v1"),
    )


def facts_table(stream: list) -> pa.Table:
    present = [(i, c) for i, c in enumerate(stream) if c is not None]
    return pa.Table.from_pydict(
        {
            "slo": ["p"] * len(present),
            "grp": [""] * len(present),
            "minute": [T0 + i * MINUTE for i, _ in present],
            "good": [float(c[0]) for _, c in present],
            "total": [float(c[1]) for _, c in present],
        },
        schema=FACTS_SCHEMA,
    )


def reference_evaluation(stream, slo: SLO, window) -> dict:
    """Minute by minute, straight from the definitions in reference/slo.md."""
    objective = slo.objectives[0]
    budget = 1 - objective.target

    def counts(since: datetime) -> tuple[float, float]:
        good = total = 0.0
        for i, c in enumerate(stream):
            minute = T0 + i * MINUTE
            if c is not None and since <= minute < window.at:
                good, total = good + c[0], total + c[1]
        return good, total

    good, total = counts(window.start)
    sli = None
    if total > 0 and slo.budgeting_method == "Occurrences":
        sli = good / total
    elif total > 0:
        slice_len = objective.time_slice_window
        slices: dict[int, list[float]] = {}
        for i, c in enumerate(stream):
            minute = T0 + i * MINUTE
            if c is not None and window.start <= minute < window.at:
                index = (minute - window.start) // slice_len
                slices.setdefault(index, [0.0, 0.0])
                slices[index][0] += c[0]
                slices[index][1] += c[1]
        ratios = [g / t for g, t in slices.values() if t > 0]
        if slo.budgeting_method == "Timeslices":
            bad = sum(r < objective.time_slice_target for r in ratios)
            sli = 1 - bad / math.ceil(window.length / slice_len)
        else:
            sli = sum(ratios) / len(ratios)
    if sli is None:
        consumed = 0.0
    elif slo.budgeting_method == "Timeslices" or slo.time_window.rolling:
        consumed = (1 - sli) / budget
    else:
        consumed = (1 - sli) * ((window.at - window.start) / window.length) / budget
    if sli is None:
        status = "NO_DATA"
    elif sli >= objective.target - 1e-9:
        status = "HEALTHY"
    elif 1 - consumed <= 1e-9:
        status = "VIOLATED"
    else:
        status = "DEGRADING"
    g30, t30 = counts(window.at - timedelta(minutes=30))
    return {
        "sli": sli,
        "error_budget_remaining": 1 - consumed,
        "burn_rate_30m": (t30 - g30) / t30 / budget if t30 else None,
        "status": status,
    }


@SETTINGS
@given(
    stream=st.lists(minute_counts, min_size=1, max_size=180),
    method=st.sampled_from(["Occurrences", "Timeslices", "RatioTimeslices"]),
    target=st.sampled_from([0.5, 0.9, 0.99]),
    slice_minutes=st.sampled_from([1, 2, 5, 7]),
    slice_target=st.sampled_from([1.0, 0.5, 0.75, 0.9]),
    window=st.sampled_from(
        [
            TimeWindow(duration=Shorthand(1, "h")),
            TimeWindow(duration=Shorthand(90, "m")),
            # Paris springs forward at 01:00 UTC on 29 March 2026, inside the streams.
            TimeWindow(duration=Shorthand(1, "d"), rolling=False, time_zone="Europe/Paris"),
            TimeWindow(duration=Shorthand(2, "h"), rolling=False, time_zone="UTC"),
        ]
    ),
    at_minute=st.integers(1, 200),
)
# Slices whose ratio equals the slice target are good (≥), and a slice without traffic is good.
@example([(5, 5), (0, 0), None, (3, 4)], "Timeslices", 0.9, 1, 1.0, TimeWindow(duration=Shorthand(1, "h")), 5)
@example([(1, 2), (3, 4), (2, 2)], "Timeslices", 0.5, 2, 0.75, TimeWindow(duration=Shorthand(1, "h")), 4)
def test_vectorized_evaluation_matches_the_reference(
    stream, method, target, slice_minutes, slice_target, window, at_minute
):
    # Evaluate inside the stream (or just past it) rather than mostly after it, where only NO_DATA
    # would be compared.
    at_minute = 1 + (at_minute - 1) % (len(stream) + 5)
    slo = make_slo(target, method, window, slice_minutes, slice_target)
    evaluation_window = window_at(window, T0 + at_minute * MINUTE)
    con = duckdb.connect()
    (row,) = evaluate_facts(con, facts_table(stream), slo, 0, [evaluation_window]).to_pylist()
    expected = reference_evaluation(stream, slo, evaluation_window)
    assert row["status"] == expected["status"]
    for key in ("sli", "error_budget_remaining", "burn_rate_30m"):
        if expected[key] is None:
            assert row[key] is None, key
        else:
            assert math.isclose(row[key], expected[key], rel_tol=1e-9, abs_tol=1e-9), key


# Small windows so random streams of a few hours exercise every alert.
SMALL_WINDOWS = AlertWindows(
    period=timedelta(days=1),
    page_quick=BurnWindow(2, timedelta(minutes=1), timedelta(minutes=5)),
    page_slow=BurnWindow(5, timedelta(minutes=2), timedelta(minutes=10)),
    ticket_quick=BurnWindow(10, timedelta(minutes=3), timedelta(minutes=30)),
    ticket_slow=BurnWindow(10, timedelta(minutes=5), timedelta(minutes=60)),
)


def reference_alerts(stream, budget: float, start: int, end: int) -> set[tuple[str, int, int]]:
    def ratio(t: int, length: timedelta) -> float | None:
        span = [stream[i] for i in range(t - int(length / MINUTE), t) if 0 <= i < len(stream)]
        total = sum(c[1] for c in span if c is not None)
        bad = sum(c[1] - c[0] for c in span if c is not None)
        return bad / total if total else None

    firing: dict[str, list[int]] = {"page": [], "ticket": []}
    rules = [("page", SMALL_WINDOWS.page_quick), ("page", SMALL_WINDOWS.page_slow)]
    rules += [("ticket", SMALL_WINDOWS.ticket_quick), ("ticket", SMALL_WINDOWS.ticket_slow)]
    for t in range(start, end):
        for severity, window in rules:
            threshold = SMALL_WINDOWS.factor(window) * budget
            long, short = ratio(t, window.long), ratio(t, window.short)
            fires = long is not None and short is not None and long > threshold and short > threshold
            if fires and t not in firing[severity]:
                firing[severity].append(t)
    intervals = set()
    for severity, instants in firing.items():
        for t in instants:
            if t - 1 not in instants:
                stop = t
                while stop in instants:
                    stop += 1
                intervals.add((severity, t, stop))
    return intervals


# A clean stream with a total outage in the middle: both a page and a ticket must fire.
OUTAGE = [(10, 10)] * 40 + [(0, 10)] * 15 + [(10, 10)] * 40


@SETTINGS
@given(
    stream=st.lists(minute_counts, min_size=1, max_size=150),
    # Targets whose budgets the random streams can burn: at 0.5 no threshold is reachable.
    target=st.sampled_from([0.9, 0.99, 0.999]),
    start=st.integers(0, 60),
    length=st.integers(1, 120),
)
@example(stream=OUTAGE, target=0.99, start=0, length=95)
def test_replayed_alerts_match_the_reference(stream, target, start, length):
    con = duckdb.connect()
    begin, end = T0 + start * MINUTE, T0 + (start + length) * MINUTE
    table = replay_facts(con, facts_table(stream), 1 - target, SMALL_WINDOWS, begin, end)
    got = {(r["severity"], (r["start"] - T0) // MINUTE, (r["end"] - T0) // MINUTE) for r in table.to_pylist()}
    assert got == reference_alerts(stream, 1 - target, start, start + length)
    if stream == OUTAGE:
        assert {severity for severity, *_ in got} == {"page", "ticket"}


# A counter sample: (seconds since T0, series, increment or reset-to value, is a reset).
samples = st.lists(
    st.tuples(
        st.integers(0, 20 * 60 - 1), st.sampled_from(["200", "500"]), st.integers(0, 50), st.booleans()
    ),
    max_size=60,
)


@SETTINGS
@given(raw=samples, start_minute=st.integers(0, 10))
def test_counter_facts_match_a_per_sample_walk(raw, start_minute):
    by_time = sorted({(second, code): (step, reset) for second, code, step, reset in raw}.items())
    value = {"200": 0.0, "500": 0.0}
    rows, expected = [], {}
    previous: dict[str, float | None] = {"200": None, "500": None}
    start = T0 + start_minute * MINUTE
    for (second, code), (step, reset) in by_time:
        value[code] = float(step) if reset else value[code] + step
        ts = T0 + timedelta(seconds=second)
        rows.append((ts, code, value[code]))
        before = previous[code]
        increase = 0.0 if before is None else (value[code] if value[code] < before else value[code] - before)
        previous[code] = value[code]
        if ts >= start:
            minute = ts.replace(second=0)
            good, total = expected.get(minute, (0.0, 0.0))
            expected[minute] = (good + (increase if code == "200" else 0.0), total + increase)
    con = duckdb.connect()
    con.register(
        "metric_samples",
        table_from_pydict(
            "metric_samples",
            {
                "ts": [ts for ts, _, _ in rows],
                "metric": ["requests_total"] * len(rows),
                "labels": [[("code", code)] for _, code, _ in rows],
                "value": [v for *_, v in rows],
                "source": ["p"] * len(rows),
            },
        ),
    )
    slo = make_slo(0.9, "Occurrences", TimeWindow(duration=Shorthand(1, "h")), 1, 0.9)
    facts = build_facts(con, slo, start, T0 + timedelta(minutes=30))
    got = {r["minute"]: (r["good"], r["total"]) for r in facts.to_pylist()}
    assert got == expected


@SETTINGS
@given(
    at=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"]),
    unit=st.sampled_from(["d", "w", "M", "Q", "Y"]),
)
def test_calendar_periods_match_local_calendar_arithmetic(at, zone, unit):
    tz = ZoneInfo(zone)
    window = window_at(TimeWindow(duration=Shorthand(1, unit), rolling=False, time_zone=zone), at)
    last = (window.at - MINUTE).astimezone(tz).date()  # the day of the last complete minute
    if unit == "d":
        first, after = last, last + timedelta(days=1)
    elif unit == "w":
        first = last - timedelta(days=last.weekday())
        after = first + timedelta(days=7)
    else:
        months = {"M": 1, "Q": 3, "Y": 12}[unit]
        month0 = (last.month - 1) // months * months
        first = last.replace(month=month0 + 1, day=1)
        after = first.replace(year=first.year + (month0 + months) // 12, month=(month0 + months) % 12 + 1)

    def midnight(day) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)

    assert (window.start, window.end) == (midnight(first), midnight(after))
    assert window.start <= window.at - MINUTE < window.end
