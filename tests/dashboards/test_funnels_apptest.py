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
    assert len(at.get("plotly_chart")) == 3  # funnel, conversion trend, time to convert


def test_counts_never_increase_along_the_demo_journey(demo_home):
    steps = _cli_steps(demo_home, "checkout")
    counts = [s["count"] for s in steps]
    assert counts[0] > 0 and counts == sorted(counts, reverse=True)
