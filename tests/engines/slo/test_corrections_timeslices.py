"""Corrections under Timeslices: a slice whose minutes are all corrected leaves the period (its SLI
and slice budget), a partly corrected one is judged on its remaining minutes; and an SLA report
lists corrections with source "correction" (the report command: tests/cli/test_slo_corrections_cli.py).
Every expected number is worked by hand below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from opsledger.config import Sla
from opsledger.contract import table_from_pydict
from opsledger.slo.corrections import corrected_slices, record_correction
from opsledger.slo.durations import Shorthand
from opsledger.slo.evaluate import evaluate
from opsledger.slo.policy import policy_events
from opsledger.slo.sla import report_month
from opsledger.slo.spec import SLO, Objective, Origin, RatioIndicator, SqlSource, TimeWindow

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
T0 = datetime(2026, 11, 10, tzinfo=UTC)


def make_slo(window: TimeWindow, slice_window: timedelta, target: float = 0.9) -> SLO:
    return SLO(
        name="api-slices",
        service="api",
        objectives=(
            Objective(
                target=target,
                target_percent=target * 100,
                time_slice_target=0.99,
                time_slice_window=slice_window,
            ),
        ),
        time_window=window,
        budgeting_method="Timeslices",
        indicator=RatioIndicator(
            good=SqlSource(table="log_records", filter="http_status < 500"),
            total=SqlSource(table="log_records"),
        ),
        origin=Origin(path=Path("test.yaml"), format="openslo/v1"),
    )


def warehouse(
    lake_dir: Path, minutes: int, per_minute: int, failing: dict[int, int]
) -> duckdb.DuckDBPyConnection:
    """``per_minute`` requests in each of ``minutes`` minutes from T0, ``failing[m]`` of them 503;
    ``audit_events`` holds what the lake holds (the corrections recorded into ``lake_dir``)."""
    ts, statuses = [], []
    for m in range(minutes):
        for i in range(per_minute):
            ts.append(T0 + m * MINUTE + timedelta(seconds=30))
            statuses.append(503 if i < failing.get(m, 0) else 200)
    con = duckdb.connect()
    con.register(
        "log_records",
        table_from_pydict(
            "log_records",
            {"ts": ts, "service": ["api"] * len(ts), "http_status": statuses, "source": ["test"] * len(ts)},
        ),
    )
    files = sorted((lake_dir / "audit_events").glob("date=*/*.parquet"))
    audit = [row for f in files for row in pq.read_table(f).to_pylist()]
    columns = {k: [r[k] for r in audit] for k in audit[0]} if audit else {}
    con.register("audit_events", table_from_pydict("audit_events", columns))
    return con


def correct(lake_dir: Path, start: datetime, end: datetime, reason: str) -> None:
    record_correction(lake_dir, "api-slices", start, end, reason, "alice")


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        # [0, 62) in 5-minute slices: 12 whole slices and a 2-minute last one (13 in all).
        ([(0, 62)], 13),
        ([(3, 12)], 1),  # only [5, 10) lies wholly inside
        ([(60, 70)], 1),  # the partial last slice [60, 62)
        ([(59, 61)], 0),
        ([(0, 5), (10, 20)], 3),
        ([(-10, 0), (62, 90)], 0),
    ],
)
def test_corrected_slices_counts_only_wholly_covered_slices(spans, expected):
    minutes = [(T0 + a * MINUTE, T0 + b * MINUTE) for a, b in spans]
    assert corrected_slices(minutes, T0, T0 + 62 * MINUTE, 5 * MINUTE) == expected


def test_rolling_timeslices_sli_before_and_after_corrections(tmp_path):
    # Rolling 1 h of 5-minute slices at 90 %: 12 slices, a slice is bad with any failure (< 99 %).
    # One request a minute; failures in minutes 10 (slice 2), 20 and 21 (slice 4), 32 (slice 6).
    slo = make_slo(TimeWindow(duration=Shorthand(1, "h")), 5 * MINUTE)
    at = T0 + HOUR
    failing = {10: 1, 20: 1, 21: 1, 32: 1}

    def state() -> dict:
        return evaluate(warehouse(tmp_path, 60, 1, failing), slo, at)[0]

    # Before: 3 bad of 12 → SLI 0.75, consumed 0.25 / 0.1 = 2.5 budgets, remaining −1.5.
    before = state()
    assert (before["bad_slices"], before["period_slices"]) == (3, 12)
    assert before["sli"] == pytest.approx(0.75)
    assert before["error_budget_remaining"] == pytest.approx(-1.5)

    # [20, 30) covers slices 4 and 5 wholly: they leave the period (10 slices), 2 bad remain →
    # SLI 0.8 (not 1 − 2/12 ≈ 0.833, which would forgive the corrected time as good slices),
    # consumed 2.0, remaining −1.
    correct(tmp_path, T0 + 20 * MINUTE, T0 + 30 * MINUTE, "load test")
    whole = state()
    assert (whole["bad_slices"], whole["period_slices"], whole["total"]) == (2, 10, 50)
    assert whole["sli"] == pytest.approx(0.8)
    assert whole["error_budget_remaining"] == pytest.approx(-1.0)
    assert whole["status"] == "VIOLATED"

    # [30:00, 32:30) touches minutes 30–32 of slice 6 [30, 35): minutes 33 and 34 remain, both good,
    # so the slice is good and still counts: 1 bad of 10 → SLI 0.9, consumed 1.0, remaining 0.
    correct(tmp_path, T0 + 30 * MINUTE, T0 + 32 * MINUTE + timedelta(seconds=30), "drill")
    partly = state()
    assert (partly["bad_slices"], partly["period_slices"], partly["total"]) == (1, 10, 47)
    assert partly["sli"] == pytest.approx(0.9)
    assert partly["error_budget_remaining"] == pytest.approx(0.0)
    assert partly["status"] == "HEALTHY"


def test_calendar_timeslices_remove_corrected_slices_from_the_whole_period(tmp_path):
    # A UTC day of 1-hour slices (24) evaluated at noon; one request a minute over hours 0–11,
    # failures in hours 2 and 5. The budget is counted in the whole day's slices, elapsed or not.
    slo = make_slo(TimeWindow(duration=Shorthand(1, "d"), rolling=False), HOUR)
    failing = {2 * 60 + 7: 1, 5 * 60 + 40: 1}
    at = T0 + 12 * HOUR
    before = evaluate(warehouse(tmp_path, 720, 1, failing), slo, at)[0]
    assert (before["bad_slices"], before["period_slices"]) == (2, 24)
    assert before["sli"] == pytest.approx(1 - 2 / 24)
    # [05:00, 08:00) and the not-yet-elapsed [20:00, 24:00) remove 3 + 4 slices → 17; 1 bad left.
    correct(tmp_path, T0 + 5 * HOUR, T0 + 8 * HOUR, "migration")
    correct(tmp_path, T0 + 20 * HOUR, T0 + 24 * HOUR, "planned freeze")
    after = evaluate(warehouse(tmp_path, 720, 1, failing), slo, at)[0]
    assert (after["bad_slices"], after["period_slices"]) == (1, 17)
    assert after["sli"] == pytest.approx(1 - 1 / 17)
    assert after["error_budget_remaining"] == pytest.approx(1 - (1 / 17) / 0.1)


def events(con: duckdb.DuckDBPyConnection, slo: SLO, end: datetime) -> dict[str, list[dict]]:
    found = policy_events(con, slo, T0, end)
    return {
        kind: [e for e in found if e["event"] == kind] for kind in ("budget_exhausted", "incident_over_20pct")
    }


def test_rolling_policy_slice_budget_excludes_corrected_slices(tmp_path):
    # Rolling 1 h of 1-minute slices at 90 %: a window's budget is 6 bad slices. Ten requests a
    # minute over minutes 0–89; minutes 30–34 have 5 failures (5 bad slices): never exhausted.
    slo = make_slo(TimeWindow(duration=Shorthand(1, "h")), MINUTE)
    failing = {m: 5 for m in range(30, 35)}
    end = T0 + 90 * MINUTE
    before = events(warehouse(tmp_path, 90, 10, failing), slo, end)
    assert before["budget_exhausted"] == []
    assert [(e["bad"], e["budget"]) for e in before["incident_over_20pct"]] == [(5, pytest.approx(6))]

    # Minutes 10–19 corrected: a window [m − 59, m] holding all ten has 50 slices, budget 5, so the
    # 5th bad slice (minute 34) uses it up. At m = 70 minute 10 has left ([11, 70]: 51 slices,
    # budget 5.1 > 5): budget left again at the end of minute 69, i.e. 70.
    correct(tmp_path, T0 + 10 * MINUTE, T0 + 20 * MINUTE, "synthetic load")
    after = events(warehouse(tmp_path, 90, 10, failing), slo, end)
    assert [(e["start"], e["end"], e["bad"], e["budget"]) for e in after["budget_exhausted"]] == [
        (T0 + 34 * MINUTE, T0 + 70 * MINUTE, 5, pytest.approx(5))
    ]
    # The incident is judged against the first whole window [0, 59], which holds the correction.
    assert [(e["bad"], e["budget"]) for e in after["incident_over_20pct"]] == [(5, pytest.approx(5))]


def test_calendar_policy_exhaustion_with_a_correction(tmp_path):
    # Two UTC days of 1-hour slices at 90 %: 24 slices a day, budget 2.4 bad slices. One request a
    # minute; day 1 fails once in hours 3 and 4 → 2 bad slices, under the budget.
    slo = make_slo(TimeWindow(duration=Shorthand(1, "d"), rolling=False), HOUR)
    failing = {3 * 60 + 1: 1, 4 * 60 + 1: 1}
    end = T0 + 2 * 24 * HOUR
    assert events(warehouse(tmp_path, 2880, 1, failing), slo, end)["budget_exhausted"] == []

    # Hours 10–15 corrected wholly (6 slices out: 18, budget 1.8) and hour 16 half (it stays):
    # the 2nd bad slice (hour 4) exhausts day 1, which stays exhausted until it ends; day 2 has a
    # full budget and no failures.
    correct(tmp_path, T0 + 10 * HOUR, T0 + 16 * HOUR, "region failover test")
    correct(tmp_path, T0 + 16 * HOUR, T0 + 16 * HOUR + 30 * MINUTE, "half an hour")
    found = events(warehouse(tmp_path, 2880, 1, failing), slo, end)["budget_exhausted"]
    assert [(e["start"], e["end"], e["bad"], e["budget"]) for e in found] == [
        (T0 + 4 * HOUR, T0 + 24 * HOUR, 2, pytest.approx(1.8))
    ]


def test_sla_lists_corrections_with_their_own_source(tmp_path):
    slo = make_slo(TimeWindow(duration=Shorthand(30, "d")), MINUTE)
    sla = Sla(
        name="api-sla",
        slo="api-slices",
        target_percent=99.9,
        maintenance=[{"start": T0 + HOUR, "end": T0 + 2 * HOUR, "reason": "patching"}],
    )
    correct(tmp_path, T0 + 10 * MINUTE, T0 + 15 * MINUTE, "load test")
    report = report_month(warehouse(tmp_path, 120, 1, {12: 1}), sla, slo, 2026, 11)
    assert [(w["source"], w["reason"], w["start"]) for w in report["maintenance"]] == [
        ("config", "patching", T0 + HOUR),
        ("correction", "SLO correction by alice: load test", T0 + 10 * MINUTE),
    ]
    # 60 maintenance + 5 corrected minutes excluded; the failing minute 12 is inside the correction.
    assert (report["excluded_minutes"], report["downtime_minutes"]) == (65, 0)
