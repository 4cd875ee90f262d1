"""The Funnels page against the demo warehouse: the numbers it shows are the ones the CLI gives
for the same configured funnel (both come from the funnel engine; the page reads its marts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from opsledger.cli import main
from opsledger.settings import Settings

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


@pytest.fixture
def funnels_page(demo_home: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("OPSLEDGER_HOME", str(demo_home.home_dir))
    monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("views/funnels.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _cli_steps(settings: Settings, name: str) -> list[dict]:
    env = {"OPSLEDGER_HOME": str(settings.home_dir), "OPSLEDGER_CONFIG": str(settings.config_path)}
    result = CliRunner().invoke(main, ["funnel", name, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["steps"]


def test_page_shows_the_configured_funnels_with_the_clis_numbers(funnels_page, demo_home):
    at = funnels_page
    assert at.title[0].value == "Funnels"
    assert list(at.selectbox[0].options) == ["cart-to-checkout", "checkout"]
    at.selectbox[0].select("checkout").run()
    steps = _cli_steps(demo_home, "checkout")
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Entered"].replace(",", "")) == steps[0]["count"]
    assert int(metrics["Converted"].replace(",", "")) == steps[-1]["count"]
    table = at.table[0].value
    assert list(table["Event"]) == ["view_item", "add_to_cart", "begin_checkout", "purchase"]
    assert list(table["People"]) == [s["count"] for s in steps]
    assert len(at.get("plotly_chart")) == 4  # funnel, conversion trend, time to convert, why they dropped


def test_counts_never_increase_along_the_demo_journey(demo_home):
    steps = _cli_steps(demo_home, "checkout")
    counts = [s["count"] for s in steps]
    assert counts[0] > 0 and counts == sorted(counts, reverse=True)


def test_why_they_dropped_shows_the_clis_evidence_with_checkout_first(funnels_page, demo_home):
    at = funnels_page
    at.selectbox[0].select("checkout").run()
    at.selectbox(key="why_step").select("2. add_to_cart → begin_checkout").run()
    assert not at.exception, [e.message for e in at.exception]
    env = {"OPSLEDGER_HOME": str(demo_home.home_dir), "OPSLEDGER_CONFIG": str(demo_home.config_path)}
    result = CliRunner().invoke(main, ["funnel", "checkout", "--why", "2", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    services = json.loads(result.output)["why"]["services"]
    table = at.table[-1].value
    assert table["Service"].iloc[0] == "checkout" == services[0]["service"]
    shown = dict(zip(table["Service"], table["Errors, dropped"], strict=True))
    assert {s["service"]: s["dropped_error_share"] for s in services} == pytest.approx(shown)
