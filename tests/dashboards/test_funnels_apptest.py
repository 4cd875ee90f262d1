"""The Funnels page against the demo warehouse: the numbers it shows are the ones the CLI gives
for the same configured funnel (both come from the funnel engine; the page reads its marts)."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from opsledger.cli import main
from opsledger.settings import Settings


@pytest.fixture
def funnels_page(demo_home: Settings, open_page) -> AppTest:
    at = open_page(demo_home, "views/funnels.py")
    return at


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The bytes behind every download button, by media file id: AppTest's media storage lives only
    for one run, so the files are caught as the page hands them over."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        files[file_id] = self._files_by_id[file_id].content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def _cli(settings: Settings, *args: str) -> dict:
    env = {"OPSLEDGER_HOME": str(settings.home_dir), "OPSLEDGER_CONFIG": str(settings.config_path)}
    result = CliRunner().invoke(main, ["funnel", *args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _cli_steps(settings: Settings, name: str) -> list[dict]:
    return _cli(settings, name)["steps"]


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
    assert len(at.get("plotly_chart")) == 5  # funnel, trend, time to convert, breakdown, why they dropped


def test_why_they_dropped_shows_the_clis_evidence_with_checkout_first(funnels_page, demo_home):
    at = funnels_page
    at.selectbox[0].select("checkout").run()
    at.selectbox(key="why_step").select("3. add_to_cart → begin_checkout").run()
    assert not at.exception, [e.message for e in at.exception]
    env = {"OPSLEDGER_HOME": str(demo_home.home_dir), "OPSLEDGER_CONFIG": str(demo_home.config_path)}
    result = CliRunner().invoke(main, ["funnel", "checkout", "--why", "3", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    services = json.loads(result.output)["why"]["services"]
    table = at.table[-1].value
    assert table["Service"].iloc[0] == "checkout" == services[0]["service"]
    shown = dict(zip(table["Service"], table["Errors, dropped"], strict=True))
    assert {s["service"]: s["dropped_error_share"] for s in services} == pytest.approx(shown)


def test_breakdown_chart_and_table_match_the_clis_breakdown(funnels_page, demo_home):
    at = funnels_page
    at.selectbox[0].select("checkout").run()
    prop = at.selectbox(key="breakdown_property")
    # The checkout funnel names no breakdown: the page offers the step-1 properties with few values.
    assert set(prop.options) == {"$browser", "$os", "tenant_id"}
    prop.select("$browser").run()
    assert not at.exception, [e.message for e in at.exception]
    groups = _cli(demo_home, "checkout", "--breakdown", "$browser")["breakdown"]
    assert len(groups) >= 2
    expected = {g["value"]: [s["count"] for s in g["steps"]] for g in groups}
    shown = at.dataframe[0].value.set_index("$browser")
    assert list(shown.columns) == ["1. view_item", "2. add_to_cart", "3. begin_checkout", "4. purchase"]
    assert {value: [int(c) for c in row] for value, row in shown.iterrows()} == expected
    chart = json.loads(at.get("plotly_chart")[3].proto.spec)
    bars = {trace["name"]: _plotly_values(trace["y"]) for trace in chart["data"]}
    assert bars == expected


def _plotly_values(values) -> list[int]:
    # Plotly ships numeric arrays as base64 typed arrays: {"dtype": "i8", "bdata": "..."}.
    if isinstance(values, dict):
        values = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return [int(v) for v in values]


def _rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_downloads_are_the_clis_dropoffs_and_converted(downloads, funnels_page, demo_home):
    at = funnels_page
    at.selectbox[0].select("checkout").run()
    at.selectbox(key="why_step").select("3. add_to_cart → begin_checkout").run()
    assert not at.exception, [e.message for e in at.exception]
    for key, option in (("download_dropped-off", "--dropoffs"), ("download_converted", "--converted")):
        button = at.get("download_button")
        proto = next(b.proto for b in button if b.proto.id.endswith(key))
        rows = _rows(downloads[Path(proto.url).stem])
        expected = _cli(demo_home, "checkout", option, "3")[option.removeprefix("--")]
        assert len(rows) > 0 and f"{len(rows):,}" in proto.label
        assert [r["unit"] for r in rows] == [e["unit"] for e in expected]
        assert [int(r["deepest_step"]) for r in rows] == [e["deepest_step"] for e in expected]
    dropped = _cli(demo_home, "checkout", "--dropoffs", "3")["dropoffs"]
    assert {d["deepest_step"] for d in dropped} == {2}
