"""SLO evaluations against the vectors of reference/slo.md: Kibana's SLI and burn rates, the
budgeting-method examples, statuses, time to exhaustion, calendar windows (DST, 28–31 day months),
daily history and multi-window multi-burn-rate alerts replayed over history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pytest

from opsledger.slo.durations import Shorthand
from opsledger.slo.evaluate import evaluate, history
from opsledger.slo.periods import window_at
from opsledger.slo.replay import alert_windows_for, replay_alerts
from opsledger.slo.spec import SLO, Objective, Origin, RatioIndicator, SqlSource, TimeWindow

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"


def make_slo(
    target: float = 0.99,
    *,
    method: str = "Occurrences",
    window: TimeWindow | None = None,
    slice_window: timedelta | None = None,
    slice_target: float | None = None,
) -> SLO:
    """An SLO over ``minute_counts`` (ts, good, total): one row per minute, registered by a test."""
    return SLO(
        name="api",
        service="api",
        objectives=(
            Objective(
                target=target,
                target_percent=target * 100,
                time_slice_window=slice_window,
                time_slice_target=slice_target,
            ),
        ),
        time_window=window or TimeWindow(duration=Shorthand(30, "d")),
        budgeting_method=method,
        indicator=RatioIndicator(
            good=SqlSource(query="select ts, good as value from minute_counts", value="value"),
            total=SqlSource(query="select ts, total as value from minute_counts", value="value"),
        ),
        origin=Origin(path=Path("test.yaml"), format="openslo/v1"),
    )


def connect(counts: list[tuple[datetime, float, float]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    table = pa.table(
        {
            "ts": pa.array([t for t, _, _ in counts], pa.timestamp("us", tz="UTC")),
            "good": pa.array([float(g) for _, g, _ in counts]),
            "total": pa.array([float(n) for *_, n in counts]),
        }
    )
    con.register("minute_counts", table)
    return con


def minutes(start: datetime, goods: list[float], totals: list[float]) -> list[tuple[datetime, float, float]]:
    return [(start + i * MINUTE, g, t) for i, (g, t) in enumerate(zip(goods, totals, strict=True))]


@pytest.mark.parametrize(("good", "total", "expected"), [(100, 1000, 0.1), (33, 90, 0.366667)])
def test_kibana_sli_vectors(good, total, expected):
    # Kibana rounds its SLI to 6 places; the engine keeps the exact ratio.
    (row,) = evaluate(connect([(T0, good, total)]), make_slo(), T0 + MINUTE)
    assert row["sli"] == pytest.approx(expected, abs=5e-7)


def test_kibana_sli_without_events_is_no_data():
    (row,) = evaluate(connect([(T0, 100, 0)]), make_slo(), T0 + MINUTE)
    assert row["sli"] is None and row["status"] == "NO_DATA"


@pytest.mark.parametrize(
    ("good", "target", "expected"), [(1000, 0.9, 0), (900, 0.9, 1), (900, 0.99, 10), (900, 0.8, 0.5)]
)
def test_kibana_burn_rate_vectors(good, target, expected):
    (row,) = evaluate(connect([(T0, good, 1000)]), make_slo(target), T0 + MINUTE)
    assert row["burn_rate"] == pytest.approx(expected, rel=1e-12, abs=1e-12)


FIVE_GOOD = [10, 10, 10, 10, 20]
FIVE_TOTAL = [10, 10, 10, 10, 40]


@pytest.mark.parametrize(
    ("method", "slice_target", "expected_sli"),
    [
        ("Occurrences", None, 0.75),
        ("RatioTimeslices", None, 0.9),
        # 1 bad slice (ratio 0.5 < 0.9) of the 60 one-minute slices of the hour: empty slices are good.
        ("Timeslices", 0.9, 1 - 1 / 60),
    ],
)
def test_budgeting_methods_on_the_reference_example(method, slice_target, expected_sli):
    con = connect(minutes(T0, FIVE_GOOD, FIVE_TOTAL))
    slo = make_slo(
        0.5,
        method=method,
        window=TimeWindow(duration=Shorthand(1, "h")),
        slice_window=None if method == "Occurrences" else MINUTE,
        slice_target=slice_target,
    )
    (row,) = evaluate(con, slo, T0 + 5 * MINUTE)
    assert row["sli"] == pytest.approx(expected_sli, rel=1e-12)
    assert (row["good"], row["total"]) == (60, 80)
    assert row["error_budget_remaining"] == pytest.approx(1 - (1 - expected_sli) / 0.5, rel=1e-12)


def test_kibana_timeslices_vector_over_a_week_of_one_minute_slices():
    # 100 minutes with traffic, 10 of them below the slice target: 90 good of 100 observed slices.
    goods = [100] * 90 + [50] * 10
    con = connect(minutes(T0, goods, [100] * 100))
    slo = make_slo(
        0.9995,
        method="Timeslices",
        window=TimeWindow(duration=Shorthand(1, "w")),
        slice_window=MINUTE,
        slice_target=0.99,
    )
    (row,) = evaluate(con, slo, T0 + 100 * MINUTE)
    assert row["period_slices"] == 10_080
    assert round(row["sli"], 6) == 0.999008
    assert row["error_budget"] * row["period_slices"] == pytest.approx(5.04, rel=1e-9)  # minutes
    assert row["status"] == "VIOLATED"  # 10 bad minutes > 5.04 allowed
    assert row["error_budget_remaining"] == pytest.approx(1 - 10 / 5.04, rel=1e-9)


@pytest.mark.parametrize(
    ("good", "total", "target", "status", "remaining"),
    [
        (9, 10, 0.9, "HEALTHY", 0.0),  # SLI 0.9 at target 0.9 is healthy
        (999, 1000, 0.999, "HEALTHY", 0.0),
        (10, 10, 0.9, "HEALTHY", 1.0),
        (8, 10, 0.9, "VIOLATED", -1.0),  # not clamped
        (0, 0, 0.9, "NO_DATA", 1.0),  # minutes with zero traffic are no data, and burn nothing
    ],
)
def test_statuses_on_a_rolling_window(good, total, target, status, remaining):
    con = connect([(T0, good, total)])
    (row,) = evaluate(con, make_slo(target), T0 + MINUTE)
    assert row["status"] == status
    assert row["error_budget_remaining"] == pytest.approx(remaining, abs=1e-9)


def test_no_facts_at_all_is_no_data():
    con = connect([(T0 - timedelta(days=40), 1, 1)])
    (row,) = evaluate(con, make_slo(), T0)
    assert (row["group"], row["sli"], row["status"], row["burn_rate_1h"]) == ("", None, "NO_DATA", None)


def test_burn_rates_and_time_to_exhaustion():
    # 3 days of 100 requests a minute; the last hour 2 % errors, the 5 minutes before `at` 10 %.
    at = T0 + timedelta(days=3)
    counts = [(T0 + i * MINUTE, 100, 100) for i in range(3 * 1440 - 60)]
    counts += [(at - timedelta(minutes=60 - i), 98, 100) for i in range(55)]
    counts += [(at - timedelta(minutes=5 - i), 90, 100) for i in range(5)]
    con = connect(counts)
    (row,) = evaluate(con, make_slo(0.999), at)
    bad_1h = 55 * 2 + 5 * 10
    assert row["burn_rate_5m"] == pytest.approx(0.1 / 0.001, rel=1e-9)
    assert row["burn_rate_1h"] == pytest.approx(bad_1h / 6000 / 0.001, rel=1e-9)
    assert row["burn_rate_3d"] == pytest.approx(bad_1h / 432_000 / 0.001, rel=1e-9)
    # The 30-day window only has these 3 days.
    assert row["burn_rate"] == pytest.approx(row["burn_rate_3d"], rel=1e-9)
    assert row["time_to_exhaustion_hours"] == pytest.approx(720 / row["burn_rate"], rel=1e-9)


@pytest.mark.parametrize(("burn_rate", "days"), [(1, 30), (2, 15), (10, 3), (1000, 43.2 / 1440)])
def test_time_to_exhaustion_of_a_30_day_budget(burn_rate, days):
    target = 0.9999
    bad = burn_rate * (1 - target) * 1_000_000
    con = connect([(T0, 1_000_000 - bad, 1_000_000)])
    (row,) = evaluate(con, make_slo(target), T0 + MINUTE)
    assert row["time_to_exhaustion_hours"] == pytest.approx(days * 24, rel=1e-9)


@pytest.mark.parametrize(
    ("at", "zone", "start", "end", "hours"),
    [
        # The month holding Paris' spring-forward day is 743 hours long; the autumn one 745.
        ("2026-03-15T10:00:00+00:00", PARIS, "2026-02-28T23:00:00+00:00", "2026-03-31T22:00:00+00:00", 743),
        ("2026-10-31T22:30:00+00:00", PARIS, "2026-09-30T22:00:00+00:00", "2026-10-31T23:00:00+00:00", 745),
        # 23:30 UTC on 31 October is still October in UTC, already November in Paris.
        ("2026-10-31T23:30:00+00:00", "UTC", "2026-10-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00", 744),
        ("2026-10-31T23:30:00+00:00", PARIS, "2026-10-31T23:00:00+00:00", "2026-11-30T23:00:00+00:00", 720),
        ("2026-02-10T00:00:00+00:00", "UTC", "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00", 672),
        ("2028-02-29T12:00:00+00:00", "UTC", "2028-02-01T00:00:00+00:00", "2028-03-01T00:00:00+00:00", 696),
        ("2026-04-30T23:59:00+00:00", "UTC", "2026-04-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00", 720),
        # New York falls back on 1 November: October is 744 hours, November 721.
        (
            "2026-11-01T03:59:00+00:00",
            NEW_YORK,
            "2026-10-01T04:00:00+00:00",
            "2026-11-01T04:00:00+00:00",
            744,
        ),
        (
            "2026-11-01T06:59:00+00:00",
            NEW_YORK,
            "2026-11-01T04:00:00+00:00",
            "2026-12-01T05:00:00+00:00",
            721,
        ),
    ],
)
def test_calendar_months_in_a_time_zone(at, zone, start, end, hours):
    window = window_at(TimeWindow(duration=Shorthand(1, "M"), rolling=False, time_zone=zone), _t(at))
    assert (window.start, window.end, window.length) == (_t(start), _t(end), timedelta(hours=hours))


@pytest.mark.parametrize(
    ("unit", "at", "start", "end", "hours"),
    [
        ("w", "2026-03-29T12:00:00+00:00", "2026-03-22T23:00:00+00:00", "2026-03-29T22:00:00+00:00", 167),
        ("Q", "2026-03-29T12:00:00+00:00", "2025-12-31T23:00:00+00:00", "2026-03-31T22:00:00+00:00", 2159),
        ("Y", "2026-03-29T12:00:00+00:00", "2025-12-31T23:00:00+00:00", "2026-12-31T23:00:00+00:00", 8760),
    ],
)
def test_calendar_week_quarter_year_across_dst(unit, at, start, end, hours):
    window = window_at(TimeWindow(duration=Shorthand(1, unit), rolling=False, time_zone=PARIS), _t(at))
    assert (window.start, window.end, window.length) == (_t(start), _t(end), timedelta(hours=hours))


@pytest.mark.parametrize(
    ("month", "target", "allowed_minutes"),
    [
        ("2026-02-15", 0.999, 40.32),
        ("2026-04-15", 0.999, 43.2),
        ("2026-01-15", 0.999, 44.64),
        ("2026-02-15", 0.9999, 4.032),
        ("2026-04-15", 0.9999, 4.32),
        ("2026-01-15", 0.9999, 4.464),
    ],
)
def test_allowed_downtime_follows_the_month_length(month, target, allowed_minutes):
    slo = make_slo(
        target,
        method="Timeslices",
        window=TimeWindow(duration=Shorthand(1, "M"), rolling=False, time_zone="UTC"),
        slice_window=MINUTE,
        slice_target=0.5,
    )
    con = connect([(_t(f"{month}T00:00:00+00:00"), 1, 1)])
    (row,) = evaluate(con, slo, _t(f"{month}T00:01:00+00:00"))
    assert row["period_slices"] * row["error_budget"] == pytest.approx(allowed_minutes, rel=1e-9)


def test_timeslice_budget_of_one_minute_slices_over_two_weeks():
    # 14 days of one-minute slices at 95 %: 5 % of 20,160 slices may be bad (the 7-day case is the
    # Kibana vector above).
    slo = make_slo(
        0.95,
        method="Timeslices",
        window=TimeWindow(duration=Shorthand(14, "d")),
        slice_window=MINUTE,
        slice_target=0.5,
    )
    (row,) = evaluate(connect([(T0, 1, 1)]), slo, T0 + MINUTE)
    assert row["period_slices"] == 20_160
    assert row["period_slices"] * row["error_budget"] == pytest.approx(1_008, rel=1e-9)


def test_calendar_occurrences_estimate_the_budget_of_the_whole_month():
    # Half of a 30-day month elapsed at 1 % errors against a 99 % target: SLI below target, but
    # only half of the month's estimated budget is spent (Kibana's estimate), so DEGRADING.
    start = _t("2026-04-01T00:00:00+00:00")
    con = connect([(start, 99, 100), (start + timedelta(days=14), 98.9, 100)])
    slo = make_slo(0.99, window=TimeWindow(duration=Shorthand(1, "M"), rolling=False, time_zone="UTC"))
    (row,) = evaluate(con, slo, start + timedelta(days=15))
    assert row["sli"] == pytest.approx(197.9 / 200, rel=1e-12)
    assert row["error_budget_consumed"] == pytest.approx((2.1 / 200) * 0.5 / 0.01, rel=1e-9)
    assert row["status"] == "DEGRADING"


def test_daily_history_of_a_calendar_month_in_paris_across_dst():
    # One minute a day with traffic, 10 of its 100 requests failing, from 1 March to 1 April.
    start = _t("2026-02-28T23:00:00+00:00")  # 1 March, 00:00 in Paris
    counts = [(start + timedelta(days=d, hours=12), 90, 100) for d in range(32)]
    con = connect(counts)
    slo = make_slo(0.99, window=TimeWindow(duration=Shorthand(1, "M"), rolling=False, time_zone=PARIS))
    rows = history(con, slo, start, _t("2026-04-01T22:00:00+00:00"))
    assert [r["date"].isoformat() for r in rows][:2] == ["2026-03-01", "2026-03-02"]
    assert len(rows) == 32  # 31 days of March and 1 April
    by_date = {r["date"].isoformat(): r for r in rows}
    # 29 March is 23 hours long: its day ends at 22:00 UTC, not 23:00.
    assert by_date["2026-03-29"]["at"] == _t("2026-03-29T22:00:00+00:00")
    assert by_date["2026-03-28"]["at"] == _t("2026-03-28T23:00:00+00:00")
    assert by_date["2026-03-15"]["total"] == 1500 and by_date["2026-03-15"]["good"] == 1350
    # The day that closes March sees the whole month; April starts again with its first day.
    assert by_date["2026-03-31"]["total"] == 3100
    assert by_date["2026-04-01"]["window_start"] == _t("2026-03-31T22:00:00+00:00")
    assert by_date["2026-04-01"]["total"] == 100
    assert {r["status"] for r in rows} == {"DEGRADING", "VIOLATED"}


def test_replayed_alerts_for_a_ten_minute_outage():
    # 4 days of 100 requests a minute, then 10 minutes of total failure starting at m0.
    m0 = T0 + timedelta(days=3)
    counts = [(T0 + i * MINUTE, 100, 100) for i in range(4 * 1440)]
    counts = [(t, 0 if m0 <= t < m0 + 10 * MINUTE else g, n) for t, g, n in counts]
    con = connect(counts)
    slo = make_slo(0.999)
    alerts = replay_alerts(con, slo, T0 + timedelta(days=2), T0 + timedelta(days=4))
    spans = {(a["severity"], a["start"], a["end"]) for a in alerts}
    # Page: 1h/5m at 14.4 fires at the first evaluation after one bad minute (100/6000 > 1.44 %);
    # 6h/30m at 6 holds it until the last bad minute leaves the 30-minute window.
    # Ticket: 1d/2h at 3 and 3d/6h at 1 need 5 bad minutes (> 432 errors); the 6-hour window ends it.
    assert spans == {
        ("page", m0 + MINUTE, m0 + 40 * MINUTE),
        ("ticket", m0 + 5 * MINUTE, m0 + 370 * MINUTE),
    }


def test_alert_factors_derive_from_the_period():
    rolling_28d = make_slo(window=TimeWindow(duration=Shorthand(28, "d")))
    assert alert_windows_for(rolling_28d).factors == pytest.approx((13.44, 5.6, 2.8, 0.9333333333333333))
    month = make_slo(window=TimeWindow(duration=Shorthand(1, "M"), rolling=False, time_zone=PARIS))
    assert alert_windows_for(month).factors == pytest.approx((14.4, 6, 3, 1))


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(ZoneInfo("UTC"))


def test_grouped_slo_gives_one_evaluation_per_group():
    con = duckdb.connect()
    con.register(
        "service_counts",
        pa.table(
            {
                "ts": pa.array([T0, T0, T0 + MINUTE, T0], pa.timestamp("us", tz="UTC")),
                "service": ["checkout", "search", "search", "batch"],
                "good": [100.0, 90.0, 100.0, 0.0],
                "total": [100.0, 100.0, 100.0, 0.0],
            }
        ),
    )
    slo = make_slo(0.99).model_copy(
        update={
            "group_by": ("service",),
            "indicator": RatioIndicator(
                good=SqlSource(query="select ts, service, good as value from service_counts", value="value"),
                total=SqlSource(
                    query="select ts, service, total as value from service_counts", value="value"
                ),
            ),
        }
    )
    rows = evaluate(con, slo, T0 + 2 * MINUTE)
    summary = [
        (r["name"], r["group"], r["target"], r["sli"], r["status"])
        for r in sorted(rows, key=lambda r: r["group"])
    ]
    assert summary == [
        ("api", "batch", 0.99, None, "NO_DATA"),
        ("api", "checkout", 0.99, 1.0, "HEALTHY"),
        ("api", "search", 0.99, 0.95, "VIOLATED"),
    ]
    search = next(r for r in rows if r["group"] == "search")
    assert search["error_budget_remaining"] == pytest.approx(1 - 0.05 / 0.01, rel=1e-9)
    assert search["burn_rate_1h"] == pytest.approx(5.0, rel=1e-9)
