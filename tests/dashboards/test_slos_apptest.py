"""The SLOs page against the demo warehouse: the budgets, statuses, alerts and SLA credits it shows
are the ones ``opsledger slo status`` / ``sla report`` give, and the payments outage is there."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from opsledger.cli import main
from opsledger.demo.story import Story
from opsledger.settings import Settings


@pytest.fixture
def slos_page(demo_home: Settings, open_page) -> AppTest:
    at = open_page(demo_home, "views/slos.py")
    return at


def _cli(settings: Settings, *args: str) -> list[dict]:
    env = {"OPSLEDGER_HOME": str(settings.home_dir), "OPSLEDGER_CONFIG": str(settings.config_path)}
    result = CliRunner().invoke(main, [*args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_budgets_are_sorted_least_left_first_with_the_clis_numbers(slos_page, demo_home):
    at = slos_page
    assert at.title[0].value == "SLOs"
    cli = _cli(demo_home, "slo", "status")
    table = at.table[0].value
    assert len(table) == len(cli) == 5
    remaining = list(table["Budget remaining"])
    assert remaining == sorted(remaining)
    by_name = {r["name"]: r for r in cli}
    for name, status, budget, sli in zip(
        table["SLO"], table["Status"], table["Budget remaining"], table["SLI"], strict=True
    ):
        assert status == by_name[name]["status"]
        assert budget == pytest.approx(by_name[name]["error_budget_remaining"], abs=1e-12)
        assert sli == pytest.approx(by_name[name]["sli"], abs=1e-12)
    metrics = {m.label: int(m.value) for m in at.metric}
    assert metrics == {
        s: sum(r["status"] == s for r in cli) for s in ("VIOLATED", "DEGRADING", "HEALTHY", "NO_DATA")
    }
    assert by_name["payments-availability"]["status"] == "VIOLATED"


def test_the_payments_outage_shows_a_page_alert_interval(slos_page, demo_home):
    at = slos_page
    at.selectbox(key="slo").select("payments-availability").run()
    assert not at.exception, [e.message for e in at.exception]
    outage = Story.load(demo_home.demo_dir / "story.json").outage
    alerts = at.dataframe[0].value
    pages = alerts[alerts["Severity"] == "page"]
    assert any(
        (row.Start <= outage.start + timedelta(minutes=10)) and (row.End > outage.start)
        for row in pages.itertuples()
    )
    # The same intervals as the stored replay, none hidden or invented by the page.
    con = duckdb.connect(str(demo_home.warehouse_path), read_only=True)
    try:
        stored = con.execute(
            "select count(*) from mart_slo_alerts where name = 'payments-availability'"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert len(alerts) == stored > 0
    burn_chart = at.get("plotly_chart")[1]
    figure = json.loads(burn_chart.proto.spec)
    shaded = [s for s in figure["layout"]["shapes"] if s["type"] == "rect"]
    assert len(shaded) == stored


def test_sla_table_shows_each_month_with_the_clis_credit(slos_page, demo_home):
    cli = {r["name"]: r for r in _cli(demo_home, "sla", "report", "--month", "2026-10")}
    table = slos_page.table[1].value
    assert sorted(table["SLA"]) == sorted(cli)
    for name, month, met, credit, downtime in zip(
        table["SLA"], table["Month"], table["Met"], table["Credit %"], table["Downtime (min)"], strict=True
    ):
        assert month == "2026-10"
        assert met == ("met" if cli[name]["met"] else "missed")
        assert credit == cli[name]["credit_percent"]
        assert downtime == cli[name]["downtime_minutes"]
    assert cli["payments-monthly"]["credit_percent"] > 0
