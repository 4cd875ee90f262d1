"""``opsledger funnel`` on the demo warehouse: the JSON the issue specifies, same numbers as the engine."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from opsledger import warehouse
from opsledger.cli import main
from opsledger.funnels import FunnelSpec, funnel_steps

JOURNEY = ["view_item", "add_to_cart", "begin_checkout", "purchase"]
STEP_KEYS = {
    "step",
    "event",
    "count",
    "conversion_from_start",
    "conversion_from_previous",
    "average_conversion_time_s",
    "median_conversion_time_s",
}


def run(args, settings, config=None):
    env = {"OPSLEDGER_HOME": str(settings.home_dir), "OPSLEDGER_CONFIG": str(config or settings.config_path)}
    return CliRunner().invoke(main, ["funnel", *args], env=env)


def engine_counts(settings, **spec) -> list[int]:
    con = warehouse.connect(settings.warehouse_path)
    try:
        return funnel_steps(con, FunnelSpec(**spec))["count"].to_pylist()
    finally:
        con.close()


def test_ad_hoc_funnel_json_matches_the_engine(demo_home):
    result = run(["--steps", ",".join(JOURNEY), "--window", "14d", "--format", "json"], demo_home)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert set(document) == {"steps"}
    steps = document["steps"]
    assert [set(s) for s in steps] == [STEP_KEYS] * 4
    assert [s["step"] for s in steps] == [1, 2, 3, 4]
    assert [s["event"] for s in steps] == JOURNEY
    counts = [s["count"] for s in steps]
    assert counts[0] > 0 and counts[-1] > 0
    assert counts == sorted(counts, reverse=True)
    assert counts == engine_counts(demo_home, steps=JOURNEY, window="14d")
    assert [s["conversion_from_start"] for s in steps] == pytest.approx([c / counts[0] for c in counts])
    previous = [counts[0], *counts[:-1]]
    assert [s["conversion_from_previous"] for s in steps] == pytest.approx(
        [c / p for c, p in zip(counts, previous, strict=True)]
    )
    assert steps[0]["average_conversion_time_s"] is None and steps[0]["median_conversion_time_s"] is None
    assert all(s["average_conversion_time_s"] > 0 for s in steps[1:])


def test_named_funnel_from_config_with_breakdown(demo_home, tmp_path):
    config = tmp_path / "opsledger.yaml"
    text = demo_home.config_path.read_text().replace(
        "funnels:\n",
        "funnels:\n  - name: by-browser\n    steps: [view_item, add_to_cart, begin_checkout, purchase]\n"
        "    window: 1d\n    breakdown: $browser\n",
    )
    config.write_text(text)
    result = run(["by-browser", "--format", "json"], demo_home, config)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    counts = [s["count"] for s in document["steps"]]
    assert counts == engine_counts(demo_home, steps=JOURNEY, window="1d")
    groups = document["breakdown"]
    assert len(groups) >= 2 and all(g["value"] for g in groups)
    # Each person is attributed to one browser, so the groups add up to the whole funnel.
    for k in range(4):
        assert sum(g["steps"][k]["count"] for g in groups) == counts[k]
    # Options on the command line override the configured ones.
    strict = json.loads(run(["by-browser", "--mode", "strict", "--format", "json"], demo_home, config).output)
    assert [s["count"] for s in strict["steps"]] == engine_counts(
        demo_home, steps=JOURNEY, window="1d", mode="strict"
    )


def test_variants_time_to_convert_trends_and_dropoffs(demo_home):
    base = ["--steps", "view_item,add_to_cart", "--format", "json"]
    counts = engine_counts(demo_home, steps=["view_item", "add_to_cart"])
    ttc = json.loads(run([*base, "--time-to-convert"], demo_home).output)["time_to_convert"]
    assert sum(b["count"] for b in ttc) == counts[1]
    assert all(b["bin_end_s"] > b["bin_start_s"] for b in ttc)
    trends = json.loads(run([*base, "--trends", "day"], demo_home).output)["trends"]
    assert len(trends) == 3  # the demo fixture has three days
    assert all(0 <= t["conversion_rate"] <= 1 and t["converted"] <= t["entered"] for t in trends)
    dropped = json.loads(run([*base, "--dropoffs", "2"], demo_home).output)["dropoffs"]
    assert len(dropped) == counts[0] - counts[1]
    assert {d["deepest_step"] for d in dropped} == {1}


def test_table_format(demo_home):
    result = run(["--steps", "view_item,purchase"], demo_home)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["step", "event", "count"]
    assert lines[2].split()[:2] == ["1", "view_item"] and lines[-1] == "(2 rows)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "no funnel named 'nosuch'"),
        ([], "give a configured funnel NAME or --steps"),
        (["--steps", "a,b", "--window", "14x"], "window '14x'"),
        (["--steps", "a,b", "--exclude", "x:2-5"], "past the last step"),
    ],
)
def test_errors_are_one_line(demo_home, args, message):
    result = run(args, demo_home)
    assert result.exit_code == 1
    assert result.output.startswith("opsledger: error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_why_and_dropoffs_name_the_same_step(demo_home):
    # PostHog's convention for both: dropped off at step 3 = reached step 2 (add_to_cart), not step 3.
    base = ["checkout", "--format", "json"]
    dropped = json.loads(run([*base, "--dropoffs", "3"], demo_home).output)["dropoffs"]
    converted = json.loads(run([*base, "--converted", "3"], demo_home).output)["converted"]
    why = json.loads(run([*base, "--why", "3"], demo_home).output)["why"]
    assert (why["step"], why["previous_event"], why["event"]) == (3, "add_to_cart", "begin_checkout")
    people = {row["outcome"]: row["people"] for row in why["summary"]}
    assert people == {"dropped": len(dropped), "converted": len(converted)}
    counts = [s["count"] for s in json.loads(run(base, demo_home).output)["steps"]]
    assert len(dropped) == counts[1] - counts[2] > 0 and len(converted) == counts[2]
    help_text = " ".join(run(["--help"], demo_home).output.split())
    assert "Who dropped off at STEP: reached STEP - 1 but not STEP." in help_text
