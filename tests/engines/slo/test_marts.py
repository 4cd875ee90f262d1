"""SLO marts on the small demo (built by ``warehouse.build`` with the demo config): the stored
figures are the CLI's, the payments outage is visible as burnt budget and a page alert at its
start, and the hourly burn rates agree with the traffic mart computed by a separate path."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest
from click.testing import CliRunner

from opsledger import warehouse
from opsledger.cli import main
from opsledger.config import load_config
from opsledger.demo.story import Story
from opsledger.settings import Settings
from opsledger.slo.marts import SCHEMAS, build_slo_marts

PAYMENTS = "payments-availability"


@pytest.fixture(scope="module")
def marts(demo_home: Settings) -> dict[str, list[dict]]:
    con = duckdb.connect(str(demo_home.warehouse_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        return {table: con.sql(f"select * from {table}").to_arrow_table().to_pylist() for table in SCHEMAS}
    finally:
        con.close()


@pytest.fixture(scope="module")
def story(demo_home: Settings) -> Story:
    return Story.load(demo_home.demo_dir / "story.json")


def _cli(settings: Settings, *args: str):
    env = {"OPSLEDGER_HOME": str(settings.home_dir), "OPSLEDGER_CONFIG": str(settings.config_path)}
    result = CliRunner().invoke(main, [*args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_status_mart_is_the_clis_status(marts, demo_home):
    cli = _cli(demo_home, "slo", "status")
    stored = {(r["name"], r["group"]): r for r in marts["mart_slo_status"]}
    assert sorted(stored) == sorted((r["name"], r["group"]) for r in cli)
    assert len(cli) == 5  # the demo's five SLO specs, none grouped
    for row in cli:
        mart = stored[(row["name"], row["group"])]
        assert mart["status"] == row["status"]
        for field in ("sli", "error_budget_remaining", "burn_rate_1h", "target"):
            if row[field] is None:  # e.g. no test run in the last hour: no 1h burn rate
                assert mart[field] is None, (row["name"], field)
            else:
                assert mart[field] == pytest.approx(row[field], rel=1e-12, abs=1e-12), (row["name"], field)


def test_the_payments_outage_burns_the_budget_and_pages_at_its_start(marts, story):
    payments = next(r for r in marts["mart_slo_status"] if r["name"] == PAYMENTS)
    assert payments["status"] == "VIOLATED" and payments["error_budget_remaining"] < 0

    outage = story.outage
    assert outage.service == "payments"
    pages = [r for r in marts["mart_slo_alerts"] if r["name"] == PAYMENTS and r["severity"] == "page"]
    during = [r for r in pages if r["start"] < outage.end and r["end"] > outage.start]
    assert len(during) == 1
    # A total outage crosses 14.4 × the budget rate on the 1h and 5m windows within minutes.
    assert outage.start <= during[0]["start"] <= outage.start + timedelta(minutes=10)
    assert during[0]["end"] > outage.end

    history = {r["date"]: r for r in marts["mart_slo_history"] if r["name"] == PAYMENTS}
    outage_day = history[outage.start.date()]
    assert outage_day["status"] == "VIOLATED"
    # The outage's burn rate is the day's worst hour by far.
    burn = [
        r for r in marts["mart_slo_burn_rates"] if r["name"] == PAYMENTS and r["burn_rate_1h"] is not None
    ]
    worst = max(burn, key=lambda r: r["burn_rate_1h"])
    assert outage.start < worst["at"] <= outage.end + timedelta(hours=1)
    assert worst["burn_rate_1h"] > worst["page_threshold_1h"] == pytest.approx(14.4)


def test_history_has_one_row_per_whole_day_like_the_cli(marts, demo_home):
    for name in ("payments-availability", "checkout-latency"):
        rows = sorted((r for r in marts["mart_slo_history"] if r["name"] == name), key=lambda r: r["date"])
        assert [str(r["date"]) for r in rows] == ["2026-10-01", "2026-10-02", "2026-10-03"]
        cli = {
            r["date"]: r for r in _cli(demo_home, "slo", "history", name, "--from", "2026-10-01T00:00:00Z")
        }
        for row in rows:
            expected = cli[str(row["date"])]
            assert row["status"] == expected["status"]
            assert row["error_budget_remaining"] == pytest.approx(
                expected["error_budget_remaining"], abs=1e-12
            )


def test_sla_months_are_the_clis_report(marts, demo_home):
    cli = {r["name"]: r for r in _cli(demo_home, "sla", "report", "--month", "2026-10")}
    stored = {r["name"]: r for r in marts["mart_sla_months"]}
    assert sorted(stored) == ["catalog-monthly", "payments-monthly"]  # one month of data
    for name, row in stored.items():
        expected = cli[name]
        assert row["month"] == "2026-10"
        for field in ("minutes", "downtime_minutes", "excluded_minutes", "met", "credit_percent"):
            assert row[field] == expected[field], (name, field)
        assert row["uptime"] == pytest.approx(expected["uptime"], abs=1e-15)
        assert row["downtime_periods"] == len(expected["downtime_periods"])
    assert stored["payments-monthly"]["met"] is False and stored["payments-monthly"]["credit_percent"] > 0


def test_hourly_burn_rates_agree_with_the_traffic_mart(demo_home):
    # mart_service_hourly counts requests and 5xx from the same counters by its own SQL.
    con = duckdb.connect(str(demo_home.warehouse_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        pairs = con.execute(
            "select b.burn_rate_1h, h.errors / h.requests / (1 - s.target) "  # burn = error ratio / budget
            "from mart_slo_burn_rates as b join mart_service_hourly as h "
            "on h.service = 'payments' and h.bucket + interval 1 hour = b.at "
            "join mart_slo_status as s on s.name = b.name "
            "where b.name = $name and h.requests > 0",
            {"name": PAYMENTS},
        ).fetchall()
    finally:
        con.close()
    assert len(pairs) == 72  # three days of hours
    for stored, expected in pairs:
        assert stored == pytest.approx(expected, rel=1e-9)
    assert sum(1 for stored, _ in pairs if stored > 14.4) >= 1


def test_no_slos_and_no_data_give_empty_marts_with_their_columns(tmp_path):
    (tmp_path / "opsledger.yaml").write_text("sources: []\n", encoding="utf-8")
    config = load_config(tmp_path / "opsledger.yaml")
    con = warehouse.connect(tmp_path / "warehouse.duckdb", read_only=False)
    try:
        warehouse.refresh_views(con, tmp_path / "lake")
        assert build_slo_marts(con, config) == dict.fromkeys(SCHEMAS, 0)
        columns = [r[0] for r in con.execute("describe mart_slo_status").fetchall()]
    finally:
        con.close()
    assert columns[:3] == ["name", "objective", "group"] and "error_budget_remaining" in columns
