"""The command-line notation for steps and exclusions with property filters, and the counts it gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest
from click.testing import CliRunner

from opsledger.cli import main
from opsledger.contract import SCHEMAS
from opsledger.funnels import FunnelSpec
from opsledger.funnels.notation import parse_exclusion, parse_steps


def step(event, **properties):
    return {"event": event, "properties": properties}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b", [step("a"), step("b")]),
        (" a , b ", [step("a"), step("b")]),
        (
            "pageview[$current_url=/cart],checkout",
            [step("pageview", **{"$current_url": "/cart"}), step("checkout")],
        ),
        ("a[k=1, j = two words],b", [step("a", k="1", j="two words"), step("b")]),
        ('search[q="shoes, red"],buy', [step("search", q="shoes, red"), step("buy")]),
        ('"Clicked, button"[x="a]b"],b', [step("Clicked, button", x="a]b"), step("b")]),
        (r'a[q="say \"hi\""],b', [step("a", q='say "hi"'), step("b")]),
    ],
)
def test_steps_notation(text, expected):
    assert parse_steps(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,,b", "expected an event name at character 3"),
        ("a[k],b", "expected '=' at character 4"),
        ("a[k=1,b", "expected '=' at character 8"),  # b is read as the next property
        ('a[k="open],b', "unclosed quote"),
        ("a[k=1,k=2],b", "property 'k' given twice"),
        ("a[k=1]x,b", "expected ',' between steps at character 7"),
    ],
)
def test_steps_notation_errors_say_where(text, message):
    with pytest.raises(ValueError, match=message):
        parse_steps(text)


def test_exclusion_notation():
    assert parse_exclusion("logout[plan=free]:1-2") == {
        **step("logout", plan="free"),
        "from_step": 1,
        "to_step": 2,
    }
    assert parse_exclusion('"a:b":2-3') == {**step("a:b"), "from_step": 2, "to_step": 3}
    spec = FunnelSpec(steps=["a", "b", "c"], exclusions=["x[k=v]:2-3"])
    assert (spec.exclusions[0].event, spec.exclusions[0].properties) == ("x", {"k": "v"})
    with pytest.raises(ValueError, match="expected EVENT:FROM-TO"):
        parse_exclusion("logout[plan=free]")


T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
# who → their events in order, one minute apart: (event, properties)
PEOPLE = {
    "p1": [("pageview", {"$current_url": "/cart"}), ("checkout", {"plan": "pro", "n": 10})],
    "p2": [("pageview", {"$current_url": "/home"}), ("checkout", {"plan": "pro", "n": 10})],
    "p3": [("pageview", {"$current_url": "/cart"})],
    "p4": [("pageview", {"$current_url": "/a,b"}), ("checkout", {"plan": "free", "n": 3})],
    "p5": [("pageview", {"$current_url": "/cart"}), ("logout", {"plan": "free"}), ("checkout", {})],
    "p6": [("pageview", {"$current_url": "/cart"}), ("logout", {"plan": "pro"}), ("checkout", {})],
}


@pytest.fixture
def env(home):
    rows: dict[str, list] = {name: [] for name in SCHEMAS["product_events"].names}
    for who, events in PEOPLE.items():
        for i, (event, props) in enumerate(events):
            rows["ts"].append(T0 + i * MIN)
            rows["distinct_id"].append(who)
            rows["event"].append(event)
            rows["properties"].append(json.dumps(props))
            rows["source"].append("test")
            for name in ("session_id", "tenant_id"):
                rows[name].append(None)
    home.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(home.warehouse_path))
    con.register("incoming", pa.table(rows, schema=SCHEMAS["product_events"]))
    con.execute(
        "create table product_events as select * replace (properties::json as properties) from incoming"
    )
    con.close()
    return {"OPSLEDGER_HOME": str(home.home_dir)}


def cli_counts(env, *args) -> list[int]:
    result = CliRunner().invoke(main, ["funnel", *args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return [s["count"] for s in json.loads(result.output)["steps"]]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("pageview,checkout", [6, 5]),
        ("pageview[$current_url=/cart],checkout", [4, 3]),  # p1, p3, p5, p6; p3 never checks out
        ('pageview[$current_url="/a,b"],checkout', [1, 1]),  # p4
        ("pageview,checkout[plan=pro]", [6, 2]),  # p1, p2
        ("pageview,checkout[plan=pro,n=10]", [6, 2]),  # the number 10 matches the text 10
        ("pageview,checkout[plan=pro,n=3]", [6, 0]),
    ],
)
def test_cli_step_filters_give_hand_checked_counts(env, steps, expected):
    assert cli_counts(env, "--steps", steps) == expected


@pytest.mark.parametrize(
    ("exclusion", "expected"),
    [
        ("logout[plan=free]:1-2", [3, 2]),  # p5 logged out on the free plan: gone from every step
        ("logout:1-2", [2, 1]),  # p5 and p6 both gone
        ("logout[plan=enterprise]:1-2", [4, 3]),  # nobody
    ],
)
def test_cli_exclusion_filters_give_hand_checked_counts(env, exclusion, expected):
    assert (
        cli_counts(env, "--steps", "pageview[$current_url=/cart],checkout", "--exclude", exclusion)
        == expected
    )


def test_cli_notation_errors_are_one_line(env):
    result = CliRunner().invoke(main, ["funnel", "--steps", "a[k=1,b"], env=env)
    assert result.exit_code == 1
    assert result.output.strip() == ("opsledger: error: funnel: steps 'a[k=1,b': expected '=' at character 8")
    help_text = CliRunner().invoke(main, ["funnel", "--help"]).output
    assert "'logout[plan=free]:1-2'" in " ".join(help_text.split())
