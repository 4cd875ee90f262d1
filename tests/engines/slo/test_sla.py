"""Monthly SLA reports: the reference's allowed-downtime vectors, DST months, exclusions overlapping
downtime, credit tiers at their edges, maintenance from audit events, and the demo's October."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from opsledger import warehouse
from opsledger.config import CreditTier, Sla, load_config
from opsledger.contract import table_from_pydict
from opsledger.slo.catalog import find, load_configured
from opsledger.slo.durations import Shorthand
from opsledger.slo.evaluate import evaluate
from opsledger.slo.replay import replay_alerts
from opsledger.slo.sla import credit_percent, month_bounds, report_month, uptime
from opsledger.slo.spec import SLO, Objective, Origin, RatioIndicator, SqlSource, TimeWindow

MINUTE = timedelta(minutes=1)
TIERS = [
    CreditTier(below=99.9, credit_percent=10),
    CreditTier(below=99.0, credit_percent=25),
    CreditTier(below=95.0, credit_percent=100),
]


def month_minutes(year: int, month: int, zone: str) -> int:
    start, end = month_bounds(year, month, zone)
    return int((end - start) / MINUTE)


@pytest.mark.parametrize(
    ("year", "month", "target", "allowed"),
    [
        (2026, 2, 0.999, 40.32),
        (2026, 11, 0.999, 43.2),
        (2026, 10, 0.999, 44.64),
        (2026, 2, 0.9999, 4.032),
        (2026, 11, 0.9999, 4.32),
        (2026, 10, 0.9999, 4.464),
    ],
)
def test_allowed_downtime_per_month_matches_the_reference(year, month, target, allowed):
    assert (1 - target) * month_minutes(year, month, "UTC") == pytest.approx(allowed, abs=1e-9)


@pytest.mark.parametrize(
    ("year", "month", "zone", "minutes"),
    [
        (2026, 10, "Europe/Berlin", 31 * 1440 + 60),  # clocks go back on 25 Oct: 44,700
        (2026, 3, "Europe/Berlin", 31 * 1440 - 60),  # clocks go forward on 29 Mar
        (2026, 10, "UTC", 31 * 1440),
        (2026, 11, "America/New_York", 30 * 1440 + 60),
        (2028, 2, "UTC", 29 * 1440),
    ],
)
def test_months_are_counted_in_real_minutes_of_their_zone(year, month, zone, minutes):
    assert month_minutes(year, month, zone) == minutes


@pytest.mark.parametrize(
    ("value", "credit"),
    [
        (Fraction(1), 0),
        (Fraction(999, 1000), 0),  # exactly 99.9 % is not below the 99.9 tier
        (Fraction(999, 1000) - Fraction(1, 10**9), 10),
        (Fraction(99, 100), 10),
        (Fraction(99, 100) - Fraction(1, 10**9), 25),
        (Fraction(95, 100), 25),
        (Fraction(95, 100) - Fraction(1, 10**9), 100),
        (Fraction(0), 100),
        (None, 0),  # a wholly excluded month owes nothing
    ],
)
def test_credit_tiers_at_their_edges(value, credit):
    assert credit_percent(TIERS, value) == credit


def test_uptime_formula_excludes_maintenance_from_both_sides():
    assert uptime(44640, 40, 100) == Fraction(44640 - 40 - 100, 44640 - 100)
    assert uptime(100, 0, 100) is None


# A synthetic warehouse: one request log line per minute for the SLO's service, 200 or 503.
SLO_SPEC = SLO(
    name="api-availability",
    service="api",
    objectives=(Objective(target=0.999, target_percent=99.9),),
    time_window=TimeWindow(duration=Shorthand(30, "d")),
    indicator=RatioIndicator(
        good=SqlSource(table="log_records", filter="service = 'api' and http_status < 500"),
        total=SqlSource(table="log_records", filter="service = 'api'"),
    ),
    origin=Origin(path=Path("test.yaml"), format="openslo/v1"),
)
NOV = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


def warehouse_with(minutes: dict[datetime, int], audit: list[tuple[datetime, str, str]] = ()):
    """``minutes`` maps a minute to its status; ``audit`` is (ts, action, resource)."""
    con = duckdb.connect()
    con.register(
        "log_records",
        table_from_pydict(
            "log_records",
            {
                "ts": [m + timedelta(seconds=20) for m in minutes],
                "service": ["api"] * len(minutes),
                "http_status": list(minutes.values()),
                "source": ["test"] * len(minutes),
            },
        ),
    )
    con.register(
        "audit_events",
        table_from_pydict(
            "audit_events",
            {
                "ts": [t for t, _, _ in audit],
                "actor": ["ops"] * len(audit),
                "action": [a for _, a, _ in audit],
                "resource": [r for _, _, r in audit],
                "outcome": ["success"] * len(audit),
                "source": ["test"] * len(audit),
            },
        ),
    )
    return con


def traffic(start: datetime, count: int, failing: range) -> dict[datetime, int]:
    return {start + i * MINUTE: (503 if i in failing else 200) for i in range(count)}


def make_sla(**overrides) -> Sla:
    fields = {"name": "api-monthly", "slo": "api-availability", "time_zone": "UTC", "target_percent": 99.9}
    return Sla.model_validate({**fields, "credit_tiers": [t.model_dump() for t in TIERS], **overrides})


def test_downtime_inside_an_exclusion_does_not_count():
    # 10:10–10:29 fails (20 minutes); maintenance 10:20–10:40 covers the last 10 of them.
    con = warehouse_with(traffic(NOV, 60, range(10, 30)))
    sla = make_sla(maintenance=[{"start": "2026-11-10T10:20:00Z", "end": "2026-11-10T10:40:00Z"}])
    report = report_month(con, sla, SLO_SPEC, 2026, 11)
    assert report["minutes"] == 43200
    assert report["excluded_minutes"] == 20
    assert report["downtime_minutes"] == 10
    assert report["uptime"] == pytest.approx((43200 - 10 - 20) / (43200 - 20), abs=1e-15)
    assert [(p["start"], p["minutes"]) for p in report["downtime_periods"]] == [(NOV + 10 * MINUTE, 10)]
    assert report["met"] is True and report["credit_percent"] == 0


def test_a_window_without_offset_is_local_and_partial_minutes_are_excluded_whole():
    # 11:20:30–11:40:30 Berlin (CET, UTC+1) touches the UTC minutes 10:20 … 10:40: 21 minutes.
    con = warehouse_with(traffic(NOV, 60, range(10, 30)))
    sla = make_sla(
        time_zone="Europe/Berlin",
        maintenance=[{"start": "2026-11-10T11:20:30", "end": "2026-11-10T11:40:30", "reason": "upgrade"}],
    )
    report = report_month(con, sla, SLO_SPEC, 2026, 11)
    assert report["excluded_minutes"] == 21
    assert report["downtime_minutes"] == 10
    assert report["maintenance"][0]["reason"] == "upgrade"


@pytest.mark.parametrize(("down", "met", "credit"), [(43, True, 0), (44, False, 10)])
def test_uptime_exactly_at_the_target_meets_it(down, met, credit):
    # 43,200 minutes − 200 excluded = 43,000 counted; 43 bad minutes is exactly 99.9 %.
    con = warehouse_with(traffic(NOV, 100, range(down)))
    sla = make_sla(maintenance=[{"start": "2026-11-20T00:00:00Z", "end": "2026-11-20T03:20:00Z"}])
    report = report_month(con, sla, SLO_SPEC, 2026, 11)
    assert (report["minutes"], report["excluded_minutes"], report["downtime_minutes"]) == (43200, 200, down)
    assert (report["met"], report["credit_percent"]) == (met, credit)


@pytest.mark.parametrize(("down_below", "downtime"), [(None, 2), (0.6, 1)])
def test_down_below_sets_how_bad_a_minute_must_be_to_count_as_down(down_below, downtime):
    # Minute 0: 1 of 2 requests fails (ratio 0.5); minute 1: 1 of 4 fails (ratio 0.75).
    statuses = {NOV: 503, NOV + timedelta(seconds=10): 200, NOV + MINUTE: 503}
    statuses |= {NOV + MINUTE + timedelta(seconds=s): 200 for s in (10, 20, 30)}
    con = warehouse_with(statuses)
    report = report_month(con, make_sla(down_below=down_below), SLO_SPEC, 2026, 11)
    assert report["downtime_minutes"] == downtime


def test_minutes_without_traffic_are_not_downtime():
    con = warehouse_with(traffic(NOV, 5, range(2, 3)))
    report = report_month(con, make_sla(), SLO_SPEC, 2026, 11)
    assert report["downtime_minutes"] == 1
    assert report["uptime"] == pytest.approx(43199 / 43200, abs=1e-15)


def test_maintenance_from_audit_pairs_start_and_end_of_the_slo_service_only():
    t = NOV
    audit = [
        (t + 5 * MINUTE, "maintenance.start", "api"),
        (t + 15 * MINUTE, "maintenance.end", "api"),
        (t + 20 * MINUTE, "maintenance.start", "search"),  # another service's maintenance
        (t + 40 * MINUTE, "maintenance.end", "search"),
    ]
    con = warehouse_with(traffic(t, 60, range(0, 60)), audit)
    report = report_month(con, make_sla(maintenance_from_audit=True), SLO_SPEC, 2026, 11)
    assert report["excluded_minutes"] == 10
    assert report["downtime_minutes"] == 50
    assert [(w["start"], w["end"], w["open"]) for w in report["maintenance"]] == [
        (t + 5 * MINUTE, t + 15 * MINUTE, False)
    ]
    without = report_month(con, make_sla(maintenance_from_audit=False), SLO_SPEC, 2026, 11)
    assert (without["excluded_minutes"], without["downtime_minutes"]) == (0, 60)


def test_an_unmatched_maintenance_start_runs_to_the_end_of_the_month():
    start = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    con = warehouse_with(traffic(start, 60, range(0, 60)), [(start, "maintenance.start", "api")])
    report = report_month(con, make_sla(maintenance_from_audit=True), SLO_SPEC, 2026, 11)
    assert report["excluded_minutes"] == 60
    assert report["downtime_minutes"] == 0
    assert report["maintenance"][0]["open"] is True
    assert report["maintenance"][0]["end"] == datetime(2026, 12, 1, tzinfo=UTC)


# The demo company: its payments outage and catalog maintenance, as story.json tells them.


@pytest.fixture(scope="module")
def demo(demo_home):
    story = json.loads((demo_home.demo_dir / "story.json").read_text())
    config = load_config(demo_home.config_path)
    con = warehouse.connect(demo_home.warehouse_path, read_only=True)
    yield story, config, load_configured(config), con
    con.close()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_demo_outage_consumes_budget_and_pages_within_minutes(demo):
    story, _, slos, con = demo
    outage = story["outage"]
    assert outage["service"] == "payments"
    start, end = when(outage["start"]), when(outage["end"])
    payments = find(slos, "payments-availability")
    before = evaluate(con, payments, start)[0]
    after = evaluate(con, payments, end)[0]
    # Requests all failed for ~45 minutes: far more than the whole 0.1 % budget of the data so far.
    assert before["error_budget_remaining"] - after["error_budget_remaining"] > 1
    assert after["status"] == "VIOLATED"
    alerts = replay_alerts(con, payments, start - timedelta(hours=2), end + timedelta(hours=2))
    pages = [a for a in alerts if a["severity"] == "page"]
    assert pages, alerts
    first = min(a["start"] for a in pages)
    assert start <= first <= start + timedelta(minutes=10)


def test_demo_october_sla_counts_the_outage_as_downtime(demo):
    story, config, slos, con = demo
    sla = next(s for s in config.slas if s.name == "payments-monthly")
    report = report_month(con, sla, find(slos, sla.slo), 2026, 10)
    assert report["minutes"] == 44700
    start, end = when(story["outage"]["start"]), when(story["outage"]["end"])
    # Counter increases land on the minute of the next scrape, so the period may start a few
    # minutes late and end one minute late, never earlier.
    covering = [p for p in report["downtime_periods"] if p["start"] < end and p["end"] > start]
    longest = max(covering, key=lambda p: p["minutes"])
    assert start <= longest["start"] <= start + timedelta(minutes=3)
    assert end <= longest["end"] <= end + timedelta(minutes=2)
    assert report["downtime_minutes"] >= longest["minutes"] >= (end - start) / MINUTE - 3
    assert report["excluded_minutes"] == 0  # the maintenance was on catalog, not payments
    assert 0.99 <= report["uptime"] < 0.999
    assert (report["met"], report["credit_percent"]) == (False, 10)


def test_demo_october_sla_excludes_the_maintenance_window(demo):
    story, config, slos, con = demo
    maintenance = story["maintenance"]
    start, end = when(maintenance["start"]), when(maintenance["end"])
    sla = next(s for s in config.slas if s.slo == "catalog-availability-minutes")
    assert maintenance["service"] == find(slos, sla.slo).service
    report = report_month(con, sla, find(slos, sla.slo), 2026, 10)
    assert report["excluded_minutes"] == (end - start) / MINUTE
    assert [(w["start"], w["end"]) for w in report["maintenance"]] == [(start, end)]
    assert not [p for p in report["downtime_periods"] if p["start"] < end and p["end"] > start]
    without = report_month(
        con, sla.model_copy(update={"maintenance_from_audit": False}), find(slos, sla.slo), 2026, 10
    )
    # Every maintenance minute answered 503 (bar the scrape that first saw the 503 series).
    assert without["downtime_minutes"] - report["downtime_minutes"] >= (end - start) / MINUTE - 2
    assert report["uptime"] > without["uptime"]
