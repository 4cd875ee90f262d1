"""`opsledger slo status|history` and `opsledger sla report` on the demo company, as a user runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from opsledger import warehouse
from opsledger.cli import main
from opsledger.config import load_config
from opsledger.slo.catalog import find, load_configured
from opsledger.slo.evaluate import evaluate, history
from opsledger.slo.sla import report_month

DEMO_SLOS = {
    "checkout-availability",
    "payments-availability",
    "checkout-latency",
    "e2e-tests-pass",
    "catalog-availability-minutes",
}


def run(args, settings):
    env = {"OPSLEDGER_HOME": str(settings.home_dir), "OPSLEDGER_CONFIG": str(settings.config_path)}
    return CliRunner().invoke(main, args, env=env)


@pytest.fixture(scope="module")
def demo(demo_home):
    config = load_config(demo_home.config_path)
    con = warehouse.connect(demo_home.warehouse_path, read_only=True)
    yield config, load_configured(config), con
    con.close()


@pytest.fixture(scope="module")
def demo_end(demo_home) -> datetime:
    """The demo's data runs to the end of its last day: the default instant is the midnight after it."""
    story = json.loads((demo_home.demo_dir / "story.json").read_text())
    first = datetime.fromisoformat(story["start"]).replace(tzinfo=UTC)
    return first + timedelta(days=story["days"])


def same(cli: dict, engine: dict, keys) -> None:
    for key in keys:
        expected = engine[key]
        if isinstance(expected, datetime):
            expected = expected.isoformat()
        if isinstance(expected, float):
            assert cli[key] == pytest.approx(expected, rel=1e-12), key
        else:
            assert cli[key] == expected, key


def test_status_json_is_one_object_per_slo_equal_to_evaluate(demo_home, demo, demo_end):
    _, slos, con = demo
    result = run(["slo", "status", "--format", "json"], demo_home)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["name"] for r in rows} == DEMO_SLOS
    assert {r["at"] for r in rows} == {demo_end.isoformat()}
    for row in rows:
        (expected,) = evaluate(con, find(slos, row["name"]), demo_end)
        same(row, expected, ["group", "target", "sli", "error_budget_remaining", "burn_rate_1h", "status"])
        same(row, expected, ["good", "total", "burn_rate", "window_start"])
    by_name = {r["name"]: r for r in rows}
    # The outage and the checkout regression are in the data: those SLOs are out of budget.
    assert by_name["payments-availability"]["status"] == "VIOLATED"
    assert by_name["checkout-latency"]["error_budget_remaining"] < 0
    # The test SLO is a calendar month in New York: its window starts at local midnight on 1 Oct.
    assert by_name["e2e-tests-pass"]["window_start"] == "2026-10-01T04:00:00+00:00"


def test_status_at_an_instant_and_as_a_table(demo_home, demo):
    _, slos, con = demo
    at = "2026-10-01T14:30:00+00:00"
    result = run(["slo", "status", "--at", at, "--format", "json"], demo_home)
    assert result.exit_code == 0, result.output
    payments = next(r for r in json.loads(result.output) if r["name"] == "payments-availability")
    (expected,) = evaluate(con, find(slos, "payments-availability"), datetime.fromisoformat(at))
    same(payments, expected, ["sli", "error_budget_remaining", "burn_rate_1h", "status"])
    # Half an hour into the outage, the last hour burns far above the 14.4 page threshold.
    assert payments["burn_rate_1h"] > 14.4
    table = run(["slo", "status", "--at", at], demo_home)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split()[:3] == ["name", "objective", "group"]
    assert lines[-1] == f"({len(DEMO_SLOS)} rows)"
    assert any(line.startswith("payments-availability") and "VIOLATED" in line for line in lines)


def test_history_is_the_daily_series(demo_home, demo, demo_end):
    _, slos, con = demo
    result = run(
        ["slo", "history", "payments-availability", "--from", "2026-10-01", "--format", "json"], demo_home
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["date"] for r in rows] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    expected = history(con, find(slos, "payments-availability"), datetime(2026, 10, 1, tzinfo=UTC), demo_end)
    for row, engine in zip(rows, expected, strict=True):
        same(row, engine, ["sli", "good", "total", "error_budget_remaining", "status"])
    assert rows[0]["total"] < rows[1]["total"] < rows[2]["total"]  # a rolling window filling up


def test_history_every_step_is_the_status_at_each_instant(demo_home, demo):
    # --step gives what Sloth's recording rules record, by another query than `slo status`
    _, slos, con = demo
    start = datetime(2026, 10, 1, 14, 0, tzinfo=UTC)
    args = ["--from", start.isoformat(), "--to", "2026-10-01T15:00:00Z", "--step", "5m", "--format", "json"]
    result = run(["slo", "history", "payments-availability", *args], demo_home)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["at"] for r in rows] == [(start + timedelta(minutes=5 * i)).isoformat() for i in range(13)]
    item = find(slos, "payments-availability")
    for row in rows[::3]:
        (expected,) = evaluate(con, item, datetime.fromisoformat(row["at"]))
        same(row, expected, ["sli", "good", "total", "error_budget_remaining"])
        same(row, expected, ["burn_rate_5m", "burn_rate_1h", "burn_rate_6h", "burn_rate_3d"])
    assert max(r["burn_rate_1h"] for r in rows) > 14.4  # the outage


def test_history_by_step_of_a_calendar_slo_is_a_one_line_error(demo_home):
    result = run(["slo", "history", "e2e-tests-pass", "--step", "5m"], demo_home)
    assert result.exit_code == 1
    assert result.output == (
        "opsledger: error: --step: SLO e2e-tests-pass: a windowed history needs a rolling Occurrences SLO\n"
    )


def test_history_of_an_unknown_slo_is_a_one_line_error(demo_home):
    result = run(["slo", "history", "nope"], demo_home)
    assert result.exit_code == 1
    assert result.output.startswith("opsledger: error: no SLO named 'nope' (known: ")
    assert len(result.output.strip().splitlines()) == 1


def test_sla_report_json_for_the_demo_october(demo_home, demo):
    config, slos, con = demo
    result = run(["sla", "report", "--month", "2026-10", "--format", "json"], demo_home)
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert set(rows) == {s.name for s in config.slas}
    payments = rows["payments-monthly"]
    assert payments["minutes"] == 44700  # October in Europe/Berlin: 31 days and the extra DST hour
    sla = next(s for s in config.slas if s.name == "payments-monthly")
    expected = report_month(con, sla, find(slos, sla.slo), 2026, 10)
    same(payments, expected, ["downtime_minutes", "excluded_minutes", "uptime", "met", "credit_percent"])
    assert payments["uptime"] == pytest.approx(
        (payments["minutes"] - payments["downtime_minutes"] - payments["excluded_minutes"])
        / (payments["minutes"] - payments["excluded_minutes"])
    )
    assert payments["credit_percent"] == 10 and payments["met"] is False
    assert rows["catalog-monthly"]["excluded_minutes"] == 30
    assert rows["catalog-monthly"]["maintenance"][0]["source"] == "audit"


def test_sla_report_table_and_errors(demo_home):
    table = run(["sla", "report", "--month", "2026-10", "--name", "payments-monthly"], demo_home)
    assert table.exit_code == 0, table.output
    header, _, row, count = table.output.splitlines()
    assert header.split() == [
        "name",
        "slo",
        "month",
        "time_zone",
        "minutes",
        "downtime_minutes",
        "excluded_minutes",
        "uptime",
        "target",
        "met",
        "credit_percent",
    ]
    assert row.split()[:5] == [
        "payments-monthly",
        "payments-availability",
        "2026-10",
        "Europe/Berlin",
        "44700",
    ]
    assert count == "(1 row)"
    bad = run(["sla", "report", "--month", "2026-13"], demo_home)
    assert bad.exit_code == 1
    assert bad.output.strip() == "opsledger: error: --month '2026-13': expected YYYY-MM, e.g. 2026-10"
    unknown = run(["sla", "report", "--month", "2026-10", "--name", "gold"], demo_home)
    assert unknown.exit_code == 1
    assert unknown.output.startswith("opsledger: error: no SLA named 'gold' (known: payments-monthly")
