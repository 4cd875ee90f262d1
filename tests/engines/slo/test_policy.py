"""Error-budget policy events on constructed streams, with every expected minute worked out by hand
in the comments, and on the demo: the payments outage is an incident over 20 % of the budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from opsledger.slo.durations import Shorthand
from opsledger.slo.facts import FACTS_SCHEMA
from opsledger.slo.policy import describe, policy_events
from opsledger.slo.spec import SLO, Objective, Origin, RatioIndicator, SqlSource, TimeWindow

MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 10, 5, tzinfo=UTC)


def make_slo(target: float, window: TimeWindow, method: str = "Occurrences", **objective) -> SLO:
    return SLO(
        name="api",
        service="api",
        objectives=(Objective(target=target, target_percent=target * 100, **objective),),
        time_window=window,
        budgeting_method=method,
        indicator=RatioIndicator(
            good=SqlSource(table="log_records", filter="http_status < 500"),
            total=SqlSource(table="log_records"),
        ),
        origin=Origin(path=Path("test.yaml"), format="openslo/v1"),
    )


def stream(minutes: int, per_minute: float, bad: dict[int, float]) -> pa.Table:
    """``per_minute`` events in each of ``minutes`` minutes from T0; ``bad`` maps a minute to failures."""
    rows = [
        {
            "slo": "api",
            "grp": "",
            "minute": T0 + i * MINUTE,
            "good": per_minute - bad.get(i, 0),
            "total": per_minute,
        }
        for i in range(minutes)
    ]
    return pa.Table.from_pylist(rows, schema=FACTS_SCHEMA)


def events_of(slo: SLO, facts: pa.Table, start: datetime, end: datetime) -> list[dict]:
    def builder(con, item, lo, hi, *, objective=0, lookback=None):
        return facts

    return policy_events(duckdb.connect(), slo, start, end, facts=builder)


def test_exhaustion_minute_and_recovery_in_a_rolling_window():
    # Rolling 1 h at 90 %: 10 events a minute, so a full window holds 600 events and 60 bad ones
    # use the budget up. Minutes 100–109 fail completely: after minute 105 the window holds 60 bad
    # events (remaining exactly 0, ≤ 0: exhausted at 105). The window [m − 59, m] keeps 6 bad
    # minutes until m = 163 and holds 5 (50 bad) from m = 164: budget left again at 164.
    slo = make_slo(0.9, TimeWindow(duration=Shorthand(1, "h")))
    facts = stream(180, 10, {m: 10 for m in range(100, 110)})
    found = events_of(slo, facts, T0, T0 + 180 * MINUTE)
    exhausted = [e for e in found if e["event"] == "budget_exhausted"]
    assert len(exhausted) == 1
    assert exhausted[0]["start"] == T0 + 105 * MINUTE
    assert exhausted[0]["end"] == T0 + 164 * MINUTE
    assert exhausted[0]["minutes"] == 59
    assert exhausted[0]["bad"] == 60 and exhausted[0]["budget"] == pytest.approx(60)
    # The outage itself: 100 bad events against the 60 of the window ending at 110 — 167 %.
    incidents = [e for e in found if e["event"] == "incident_over_20pct"]
    assert [(e["start"], e["end"], e["minutes"]) for e in incidents] == [
        (T0 + 100 * MINUTE, T0 + 110 * MINUTE, 10)
    ]
    assert incidents[0]["bad"] == 100 and incidents[0]["budget_share"] == pytest.approx(100 / 60)
    assert "still" not in describe(exhausted[0])


def test_still_exhausted_at_the_end_has_no_end():
    slo = make_slo(0.9, TimeWindow(duration=Shorthand(1, "h")))
    facts = stream(120, 10, {m: 10 for m in range(100, 110)})
    exhausted = [e for e in events_of(slo, facts, T0, T0 + 120 * MINUTE) if e["event"] == "budget_exhausted"]
    assert [(e["start"], e["end"]) for e in exhausted] == [(T0 + 105 * MINUTE, None)]
    assert "still exhausted" in describe(exhausted[0])


def test_incidents_over_a_fifth_of_a_calendar_days_budget():
    # A calendar day (UTC) at 99 %: 1,440 minutes × 100 events = 144,000, budget 1,440 bad events,
    # 20 % of it 288. Incident A: minutes 10–11 and 15–16 with 90 failures each, 3 quiet minutes
    # apart (< 5: one incident) → 360 = 25 %: flagged. Incident B: minutes 100–102 with 72 failures
    # each → 216 = 15 %: not flagged. Minutes 200–201 and 208–209 (90 each) are 6 minutes apart:
    # two incidents of 180 = 12.5 %, neither flagged. 936 bad events in all: no exhaustion.
    slo = make_slo(0.99, TimeWindow(duration=Shorthand(1, "d"), rolling=False))
    bad = {10: 90, 11: 90, 15: 90, 16: 90, 100: 72, 101: 72, 102: 72, 200: 90, 201: 90, 208: 90, 209: 90}
    facts = stream(1440, 100, bad)
    found = events_of(slo, facts, T0, T0 + timedelta(days=1))
    assert [e["event"] for e in found] == ["incident_over_20pct"]
    incident = found[0]
    assert (incident["start"], incident["end"], incident["minutes"]) == (
        T0 + 10 * MINUTE,
        T0 + 17 * MINUTE,
        7,
    )
    assert incident["bad"] == 360
    assert incident["budget"] == pytest.approx(1440)
    assert incident["budget_share"] == pytest.approx(0.25)
    assert (incident["period_start"], incident["period_end"]) == (T0, T0 + timedelta(days=1))


def test_calendar_exhaustion_lasts_until_the_period_ends():
    # Two UTC days at 99 % with 100 events a minute: each day's budget is 1,440 failures. Day 1
    # fails 100 % in minutes 600–614 (1,500 failures): the cumulative count reaches 1,440 during
    # minute 614 (14 × 100 = 1,400 before it). It stays exhausted to the end of day 1; day 2 starts
    # with a new budget and has no failures.
    slo = make_slo(0.99, TimeWindow(duration=Shorthand(1, "d"), rolling=False))
    facts = stream(2880, 100, {m: 100 for m in range(600, 615)})
    found = events_of(slo, facts, T0, T0 + timedelta(days=2))
    exhausted = [e for e in found if e["event"] == "budget_exhausted"]
    assert [(e["start"], e["end"]) for e in exhausted] == [(T0 + 614 * MINUTE, T0 + timedelta(days=1))]


def test_timeslices_count_bad_slices_against_the_slice_budget():
    # Rolling 1 h of 1-minute slices at 90 %: 60 slices, budget 6 bad slices. A slice is bad when
    # under 99 % good. Minutes 30–35 are bad (5 of 10 fail) → the 6th bad slice, minute 35, uses it up.
    slo = make_slo(
        0.9,
        TimeWindow(duration=Shorthand(1, "h")),
        method="Timeslices",
        time_slice_target=0.99,
        time_slice_window=MINUTE,
    )
    facts = stream(90, 10, {m: 5 for m in range(30, 36)})
    exhausted = [e for e in events_of(slo, facts, T0, T0 + 90 * MINUTE) if e["event"] == "budget_exhausted"]
    # Bad slices 30–35 leave the window [m − 59, m] from m = 90 on: still exhausted at the end.
    assert [(e["start"], e["end"], e["bad"], e["budget"]) for e in exhausted] == [
        (T0 + 35 * MINUTE, None, 6, pytest.approx(6))
    ]


def test_no_events_without_failures_or_data():
    slo = make_slo(0.99, TimeWindow(duration=Shorthand(30, "d")))
    assert events_of(slo, stream(60, 10, {}), T0, T0 + 60 * MINUTE) == []
    assert events_of(slo, stream(0, 10, {}), T0, T0 + 60 * MINUTE) == []


def test_the_demo_outage_is_an_incident_over_a_fifth_of_the_payments_budget(demo_home):
    from opsledger.demo.story import Story

    story = Story.load(demo_home.demo_dir / "story.json")
    outage = story.outage
    assert outage.service == "payments"
    con = duckdb.connect(str(demo_home.warehouse_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        rows = con.sql("select * from mart_slo_policy_events order by start").to_arrow_table().to_pylist()
    finally:
        con.close()
    payments = [r for r in rows if r["name"] == "payments-availability"]
    incidents = [
        r
        for r in payments
        if r["event"] == "incident_over_20pct" and r["start"] < outage.end and r["end"] > outage.start
    ]
    assert len(incidents) == 1
    incident = incidents[0]
    # Counters are scraped every few seconds and the outage starts at a whole minute: the run of
    # failing minutes matches the outage to within a couple of minutes at each end.
    assert abs(incident["start"] - outage.start) <= 3 * MINUTE
    assert abs(incident["end"] - outage.end) <= 3 * MINUTE
    assert incident["budget_share"] > 0.2 and incident["bad"] > 0.2 * incident["budget"]
    # The same outage exhausts the 30-day budget on its day, and with three days of data it stays so.
    exhausted = [r for r in payments if r["event"] == "budget_exhausted"]
    assert len(exhausted) == 1 and exhausted[0]["end"] is None
    assert outage.start <= exhausted[0]["start"] < outage.end
    # Checkout depends on payments and served 503s during the outage too.
    assert any(
        r["name"] == "checkout-availability"
        and r["event"] == "incident_over_20pct"
        and r["start"] < outage.end
        and r["end"] > outage.start
        for r in rows
    )
