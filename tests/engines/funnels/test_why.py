"""Why they dropped: backend errors and latency after a step, dropped vs converted.

A hand-built warehouse whose shares are worked out by hand, and the demo company, whose checkout
regression must come out as the service most over-represented among those who left their cart.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest
from click.testing import CliRunner

from opsledger.cli import main
from opsledger.contract import SCHEMAS
from opsledger.demo import Story
from opsledger.errors import OpsledgerError
from opsledger.funnels import FunnelSpec
from opsledger.funnels.why import why_dropped

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
CART = FunnelSpec(steps=["add_to_cart", "begin_checkout"])

# (who, event, ts, session, trace)
EVENTS = [
    ("d1", "add_to_cart", T0, "s1", "tr1"),
    ("d2", "add_to_cart", T0, "s2", "tr2"),
    ("d3", "add_to_cart", T0, "s3", None),
    # c1 re-enters: the counted attempt is the later one, so the errors after the first do not count.
    ("c1", "add_to_cart", T0 - 2 * 60 * MIN, "s0", None),
    ("c1", "add_to_cart", T0, "s4", None),
    ("c1", "begin_checkout", T0 + 2 * MIN, "s4", None),
    ("c2", "add_to_cart", T0, "s5", None),
    ("c2", "begin_checkout", T0 + 3 * MIN, "s5", None),
]

# (ts, service, level, user_id, trace_id, http_status, duration_ms, attributes)
LOGS = [
    # d1: one 500 carrying user, session and trace (counted once), one error found by session only.
    (T0 + 5 * MIN, "checkout", "error", "d1", "tr1", 500, 1200.0, {"labels": {"session_id": "s1"}}),
    (T0 + 10 * MIN, "checkout", "error", None, None, None, None, {"labels": {"session_id": "s1"}}),
    # d2: a slow checkout found by a top-level session_id, a fatal payments line found by trace.
    (T0 + MIN, "checkout", "warn", None, None, 200, 900.0, {"session_id": "s2"}),
    (T0 + 2 * MIN, "payments", "FATAL", None, "tr2", None, 300.0, {}),
    # d3: errors only outside [t_k, t_k + 30 min].
    (T0 - MIN, "checkout", "error", "d3", None, 500, 10.0, {}),
    (T0 + 31 * MIN, "checkout", "error", "d3", None, 503, 10.0, {}),
    # c1: an error after the attempt that does not count, then a 503 and a fast checkout.
    (T0 - 119 * MIN, "checkout", "error", "c1", None, 500, 5000.0, {}),
    (T0 + MIN, "catalog", "warn", "c1", None, 503, 20.0, {}),
    (T0 + MIN, "checkout", "info", "c1", None, 200, 100.0, {}),
    # c2: one fast request; someone else's error at the same time.
    (T0 + MIN, "checkout", "info", "c2", None, 200, 50.0, {}),
    (T0 + MIN, "checkout", "error", "zz", "tr9", 500, 10.0, {"labels": {"session_id": "s9"}}),
]


def _table(name: str, rows: dict[str, list]) -> pa.Table:
    schema = SCHEMAS[name]
    return pa.table({f: rows.get(f, [None] * len(next(iter(rows.values())))) for f in schema.names}, schema)


def fill(con: duckdb.DuckDBPyConnection, events=EVENTS, logs=LOGS) -> duckdb.DuckDBPyConnection:
    events_table = _table(
        "product_events",
        {
            "ts": [e[2] for e in events],
            "distinct_id": [e[0] for e in events],
            "event": [e[1] for e in events],
            # Sessions only in properties, as PostHog exports them; the column stays empty.
            "session_id": [None] * len(events),
            "properties": [json.dumps({"$session_id": e[3], "trace_id": e[4]}) for e in events],
            "source": ["test"] * len(events),
        },
    )
    columns = ("ts", "service", "level", "user_id", "trace_id", "http_status", "duration_ms")
    log_rows = {c: [row[i] for row in logs] for i, c in enumerate(columns)}
    log_rows["attributes"] = [json.dumps(row[7]) for row in logs]
    logs_table = _table("log_records", log_rows)
    for name, table in (("product_events", events_table), ("log_records", logs_table)):
        con.register("incoming", table)
        json_column = "properties" if name == "product_events" else "attributes"
        con.execute(
            f"create table {name} as select * replace ({json_column}::json as {json_column}) from incoming"
        )
        con.unregister("incoming")
    return con


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return fill(duckdb.connect())


def by_key(table: pa.Table, key: str) -> dict[str, dict]:
    return {row[key]: row for row in table.to_pylist()}


def test_summary_shares_are_exact(con):
    result = why_dropped(con, CART, 2)
    # Step 2 in PostHog's drop-off convention: reached add_to_cart (step 1), not begin_checkout.
    assert (result["step"], result["previous_event"], result["event"], result["after_seconds"]) == (
        2,
        "add_to_cart",
        "begin_checkout",
        1800,
    )
    assert result["summary"]["outcome"].to_pylist() == ["dropped", "converted"]
    dropped, converted = (by_key(result["summary"], "outcome")[k] for k in ("dropped", "converted"))
    assert dropped["people"] == 3 and converted["people"] == 2
    assert dropped["people_with_logs"] == 2 and converted["people_with_logs"] == 2
    assert dropped["people_with_errors"] == 2 and dropped["error_share"] == pytest.approx(2 / 3)
    assert dropped["error_events"] == 3 and dropped["errors_per_person"] == pytest.approx(1.0)
    assert dropped["people_with_slow_requests"] == 2 and dropped["slow_share"] == pytest.approx(2 / 3)
    assert converted["people_with_errors"] == 1 and converted["error_share"] == pytest.approx(0.5)
    assert converted["error_events"] == 1 and converted["errors_per_person"] == pytest.approx(0.5)
    assert converted["people_with_slow_requests"] == 0
    # Durations of the requests each group made: dropped [300, 900, 1200], converted [20, 50, 100].
    assert dropped["p50_duration_ms"] == pytest.approx(900.0)
    assert dropped["p95_duration_ms"] == pytest.approx(900 + 0.9 * 300)
    assert converted["p50_duration_ms"] == pytest.approx(50.0)
    assert converted["p95_duration_ms"] == pytest.approx(50 + 0.9 * 50)


def test_services_ranked_by_over_representation(con):
    services = why_dropped(con, CART, 2)["services"]
    # checkout and payments tie on errors (1 of 3 dropped, no converted); checkout's slow requests
    # among the dropped break the tie; catalog failed only a converted person.
    assert services["service"].to_pylist() == ["checkout", "payments", "catalog"]
    rows = by_key(services, "service")
    checkout, payments, catalog = rows["checkout"], rows["payments"], rows["catalog"]
    assert checkout["dropped_people_with_errors"] == 1 and checkout["dropped_error_events"] == 2
    assert checkout["dropped_error_share"] == pytest.approx(1 / 3)
    assert checkout["converted_error_share"] == 0 and checkout["difference"] == pytest.approx(1 / 3)
    assert checkout["lift"] is None  # no converted person met a checkout error: no finite ratio
    assert checkout["dropped_slow_share"] == pytest.approx(2 / 3) and checkout["converted_slow_share"] == 0
    assert checkout["dropped_p95_duration_ms"] == pytest.approx(900 + 0.95 * 300)  # of [900, 1200]
    assert payments["dropped_error_share"] == pytest.approx(1 / 3) and payments["dropped_slow_share"] == 0
    assert catalog["converted_error_share"] == pytest.approx(0.5)
    assert catalog["difference"] == pytest.approx(-0.5) and catalog["lift"] == 0


def test_lift_is_the_ratio_of_shares():
    # Two dropped both hit checkout errors; of four converted one did: 1.0 vs 0.25.
    events, logs = [], []
    for i, converted in enumerate([False, False, True, True, True, True]):
        who = f"p{i}"
        events.append((who, "add_to_cart", T0, f"s{i}", None))
        if converted:
            events.append((who, "begin_checkout", T0 + 5 * MIN, f"s{i}", None))
        if i in (0, 1, 2):
            logs.append((T0 + MIN, "checkout", "error", who, None, 502, 40.0, {}))
    row = why_dropped(fill(duckdb.connect(), events, logs), CART, 2)["services"].to_pylist()[0]
    assert row["service"] == "checkout"
    assert (row["dropped_error_share"], row["converted_error_share"]) == (1.0, 0.25)
    assert row["difference"] == pytest.approx(0.75) and row["lift"] == pytest.approx(4.0)


def test_a_longer_window_takes_in_later_errors(con):
    dropped = why_dropped(con, CART, 2, after="1h")["summary"].to_pylist()[0]
    assert dropped["people_with_errors"] == 3 and dropped["error_events"] == 4


def test_the_slow_threshold_is_a_parameter(con):
    summary = by_key(why_dropped(con, CART, 2, slow_ms=1000)["summary"], "outcome")
    assert summary["dropped"]["people_with_slow_requests"] == 1  # only d1's 1200 ms
    summary = by_key(why_dropped(con, CART, 2, slow_ms=80)["summary"], "outcome")
    assert summary["converted"]["people_with_slow_requests"] == 1  # c1's 100 ms


def test_nobody_dropped_gives_null_shares_not_a_crash(con):
    spec = FunnelSpec(steps=["add_to_cart", "begin_checkout"], to=T0 - MIN)  # only c1's first attempt
    summary = by_key(why_dropped(con, spec, 2)["summary"], "outcome")
    assert summary["dropped"]["people"] == 1 and summary["converted"]["people"] == 0
    assert summary["converted"]["error_share"] is None


@pytest.mark.parametrize(("step", "after"), [(1, "30m"), (3, "30m"), (2, "soon")])
def test_bad_step_or_window_is_a_clear_error(con, step, after):
    with pytest.raises(OpsledgerError, match="why they dropped"):
        why_dropped(con, CART, step, after=after)


def test_temp_tables_are_dropped(con):
    why_dropped(con, CART, 2)
    temp = con.sql("select table_name from duckdb_tables() where temporary").fetchall()
    assert temp == []


def test_cli_prints_summary_and_services(home):
    home.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    fill(duckdb.connect(str(home.warehouse_path))).close()
    env = {"OPSLEDGER_HOME": str(home.home_dir)}
    args = ["funnel", "--steps", "add_to_cart,begin_checkout", "--why", "2"]
    as_json = CliRunner().invoke(main, [*args, "--format", "json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    why = json.loads(as_json.output)["why"]
    assert [r["people_with_errors"] for r in why["summary"]] == [2, 1]
    assert [r["service"] for r in why["services"]] == ["checkout", "payments", "catalog"]
    table = CliRunner().invoke(main, args, env=env)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].startswith("dropped off at step 2 begin_checkout (reached step 1 add_to_cart)")
    assert any(line.split()[:3] == ["dropped", "3", "2"] for line in lines)
    assert any(line.startswith("checkout") for line in lines)
    bad = CliRunner().invoke(main, [*args[:-1], "1"], env=env)
    assert bad.exit_code == 1 and "step must be between 2 and 2" in bad.output


def test_demo_checkout_regression_explains_the_cart_drop(demo_home):
    story = Story.load(demo_home.demo_dir / "story.json")
    start = datetime.combine(story.start, datetime.min.time(), UTC)
    # The 3-day demo must contain the regression for this test to mean anything.
    assert start <= story.regression.time < story.regression.fix_time <= start + timedelta(days=story.days)
    con = duckdb.connect(str(demo_home.warehouse_path), read_only=True)
    try:
        result = why_dropped(con, CART, 2)
    finally:
        con.close()
    summary = by_key(result["summary"], "outcome")
    assert summary["dropped"]["people"] > 0 and summary["converted"]["people"] > 0
    assert summary["dropped"]["p95_duration_ms"] > summary["converted"]["p95_duration_ms"]
    top = result["services"].to_pylist()[0]
    assert top["service"] == story.regression.service == "checkout"
    assert top["dropped_error_share"] > top["converted_error_share"]
    assert top["dropped_slow_share"] > top["converted_slow_share"]
    assert not math.isnan(top["difference"]) and top["difference"] > 0
