"""The funnel engine against the published PostHog vectors (reference/funnels.md) and the rules
the reference spells out: re-entry, same timestamp, inclusive window, exclusions, breakdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest
from pydantic import ValidationError

from opsledger.contract import SCHEMAS
from opsledger.errors import OpsledgerError
from opsledger.funnels import FunnelSpec, funnel_people, funnel_steps, funnel_trends, ordered, time_to_convert
from opsledger.funnels.spec import parse_window

T0 = datetime(2021, 5, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def warehouse(events: list[tuple]) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse whose product_events holds ``(who, event, ts[, props[, session]])``."""
    rows: dict[str, list] = {name: [] for name in SCHEMAS["product_events"].names}
    for who, event, ts, *rest in events:
        props = rest[0] if rest else {}
        rows["ts"].append(ts)
        rows["distinct_id"].append(who)
        rows["event"].append(event)
        rows["session_id"].append(rest[1] if len(rest) > 1 else None)
        rows["tenant_id"].append(props.get("tenant_id"))
        rows["properties"].append(json.dumps(props))
        rows["source"].append("test")
    con = duckdb.connect()
    con.register("incoming", pa.table(rows, schema=SCHEMAS["product_events"]))
    con.execute(
        "create table product_events as select * replace (properties::json as properties) from incoming"
    )
    con.unregister("incoming")
    return con


def counts(con, **spec) -> list[int]:
    return funnel_steps(con, FunnelSpec(**spec))["count"].to_pylist()


def sequence(who: str, events: list[str], start: datetime = T0, gap: timedelta = MIN) -> list[tuple]:
    return [(who, event, start + i * gap) for i, event in enumerate(events)]


# -- vector 1: ordered, window 7 days (and the seconds variant) -----------------------------------


@pytest.mark.parametrize(
    ("fast", "slow", "window"),
    [(timedelta(days=1), timedelta(days=9), "7d"), (timedelta(seconds=10), timedelta(seconds=20), "15s")],
    ids=["days", "seconds"],
)
def test_vector_1_ordered_window(fast, slow, window):
    events = []
    for i in range(10):
        events += [(f"fast{i}", "step one", T0), (f"fast{i}", "step two", T0 + fast)]
    for i in range(15):
        events += [(f"slow{i}", "step one", T0), (f"slow{i}", "step two", T0 + slow)]
    con = warehouse(events)
    assert counts(con, steps=["step one", "step two", "step three"], window=window) == [25, 10, 0]


# -- vector 2: exclusions -------------------------------------------------------------------------


def test_vector_2_exclusions_remove_people_from_every_step():
    h = timedelta(hours=1)
    day = T0.replace(hour=0)
    con = warehouse(
        [
            ("person1", "user signed up", day + 1 * h),
            ("person1", "paid", day + 2 * h),
            ("person2", "user signed up", day + 3 * h),
            ("person2", "x", day + 3.5 * h),
            ("person2", "paid", day + 4 * h),
            ("person3", "user signed up", day + 5 * h),
            ("person3", "x", day + 6 * h),
            ("person4", "user signed up", day + 7 * h),
            ("person4", "x", day + timedelta(days=1, hours=8)),
        ]
    )
    spec = FunnelSpec(steps=["user signed up", "paid"], window="1d", exclusions=["x:1-2"])
    assert funnel_steps(con, spec)["count"].to_pylist() == [2, 1]
    assert funnel_people(con, spec, 2)["unit"].to_pylist() == ["person4"]
    assert funnel_people(con, spec, 2, dropped=False)["unit"].to_pylist() == ["person1"]
    # Without the exclusion all four count.
    assert counts(con, steps=["user signed up", "paid"], window="1d") == [4, 2]


def test_a_later_clean_attempt_still_counts():
    con = warehouse(
        sequence("p", ["signup", "x", "paid"]) + sequence("p", ["signup", "paid"], T0 + timedelta(days=3))
    )
    assert counts(con, steps=["signup", "paid"], window="1d", exclusions=["x:1-2"]) == [1, 1]


# -- vector 3: strict and unordered ---------------------------------------------------------------

STEPS3 = ["user signed up", "$pageview", "insight viewed"]
SIGNUP, PAGE, INSIGHT, BLAAH = "user signed up", "$pageview", "insight viewed", "blaah"


def test_vector_3_strict():
    people = {
        "s1": [SIGNUP],
        "s2": [PAGE, SIGNUP],
        "s3": [SIGNUP, PAGE, BLAAH, INSIGHT],
        "s4": [INSIGHT, BLAAH, PAGE, SIGNUP],
        "s5": [PAGE, SIGNUP, BLAAH, PAGE, INSIGHT],
        "s6": [BLAAH, SIGNUP, BLAAH, PAGE],
        "s7": [BLAAH, SIGNUP, PAGE, INSIGHT, BLAAH],
        "s8": [INSIGHT, PAGE],
    }
    con = warehouse([e for who, seq in people.items() for e in sequence(who, seq)])
    assert counts(con, steps=STEPS3, mode="strict") == [7, 2, 1]
    # The same people in an ordered funnel: unrelated events no longer break chains.
    assert counts(con, steps=STEPS3) == [7, 4, 3]


def test_vector_3_unordered():
    people = {
        "u1": [SIGNUP],
        "u2": [PAGE, SIGNUP],
        "u3": [SIGNUP, PAGE, BLAAH, INSIGHT],
        "u4": [INSIGHT, PAGE, SIGNUP],
        "u5": [PAGE, SIGNUP, BLAAH, INSIGHT],
        "u6": [BLAAH, INSIGHT],
        "u7": [PAGE, BLAAH],
        "u8": [INSIGHT, PAGE],
    }
    con = warehouse([e for who, seq in people.items() for e in sequence(who, seq)])
    assert counts(con, steps=STEPS3, mode="unordered") == [8, 5, 3]


# -- the reference's rules ------------------------------------------------------------------------


def test_window_is_inclusive_and_in_absolute_seconds():
    con = warehouse(
        [
            ("edge", "a", T0),
            ("edge", "b", T0 + timedelta(seconds=60)),
            ("late", "a", T0),
            ("late", "b", T0 + timedelta(seconds=60, microseconds=1)),
        ]
    )
    assert counts(con, steps=["a", "b"], window="1m") == [2, 1]
    assert counts(con, steps=["a", "b"], window=60) == [2, 1]


def test_same_timestamp_steps_are_taken_in_step_order():
    con = warehouse([("p", "b", T0), ("p", "a", T0), ("p", "c", T0)])
    for mode in ("ordered", "strict", "unordered"):
        assert counts(con, steps=["a", "b", "c"], mode=mode) == [1, 1, 1], mode


def test_repeated_step_needs_a_strictly_later_event():
    con = warehouse([("once", "a", T0), ("once", "b", T0 + MIN), ("twice", "a", T0)])
    con.execute("insert into product_events select * replace ('twice' as distinct_id) from product_events")
    con.execute(
        "insert into product_events select * replace (ts + interval 2 minute as ts) "
        "from product_events where distinct_id = 'twice' and event = 'b'"
    )
    assert counts(con, steps=["a", "b", "b"]) == [2, 2, 1]


def test_reentry_latest_step_one_anchors_and_each_person_counts_once():
    con = warehouse(sequence("p", ["a", "a", "a", "b"], gap=timedelta(hours=1)))
    table = funnel_steps(con, FunnelSpec(steps=["a", "b"], window="1d"))
    assert table["count"].to_pylist() == [1, 1]
    assert table["average_conversion_time_s"].to_pylist() == [None, 3600.0]


def test_conversion_rates_and_times_from_the_previous_step():
    con = warehouse(
        sequence("p1", ["a", "b", "c"], gap=timedelta(seconds=10))
        + sequence("p2", ["a", "b", "c"], gap=timedelta(seconds=30))
        + sequence("p3", ["a", "b"], gap=timedelta(seconds=50))
        + sequence("p4", ["a"])
    )
    rows = funnel_steps(con, FunnelSpec(steps=["a", "b", "c"])).to_pylist()
    assert [r["count"] for r in rows] == [4, 3, 2]
    assert [r["conversion_from_start"] for r in rows] == [1.0, 0.75, 0.5]
    assert [r["conversion_from_previous"] for r in rows] == [1.0, 0.75, pytest.approx(2 / 3)]
    assert [r["average_conversion_time_s"] for r in rows] == [None, 30.0, 20.0]
    assert [r["median_conversion_time_s"] for r in rows] == [None, 30.0, 20.0]
    assert [r["event"] for r in rows] == ["a", "b", "c"]


def test_property_filters_on_steps():
    con = warehouse(
        [
            ("p1", "$pageview", T0, {"$pathname": "/", "a.b": 1}),
            ("p1", "$pageview", T0 + MIN, {"$pathname": "/cart"}),
            ("p2", "$pageview", T0, {"$pathname": "/", "a.b": 2}),
            ("p2", "$pageview", T0 + MIN, {"$pathname": "/about"}),
        ]
    )
    home = {"event": "$pageview", "properties": {"$pathname": "/"}}
    cart = {"event": "$pageview", "properties": {"$pathname": "/cart"}}
    assert counts(con, steps=[home, cart]) == [2, 1]
    # Keys are literal property names (not JSON paths); numbers compare as their JSON text.
    assert counts(
        con, steps=[{"event": "$pageview", "properties": {"$pathname": "/", "a.b": 2}}, "$pageview"]
    ) == [1, 1]


def test_breakdown_first_and_last_touch():
    con = warehouse(
        [
            ("p1", "a", T0, {"$browser": "firefox"}),
            ("p1", "b", T0 + MIN, {"$browser": "chrome"}),
            ("p2", "a", T0, {"$browser": "chrome"}),
        ]
    )
    first = funnel_steps(con, FunnelSpec(steps=["a", "b"], breakdown="$browser"))
    groups = {(r["breakdown"], r["step"]): r["count"] for r in first.to_pylist() if not r["is_total"]}
    assert groups == {("chrome", 1): 1, ("chrome", 2): 0, ("firefox", 1): 1, ("firefox", 2): 1}
    assert first.filter(first["is_total"])["count"].to_pylist() == [2, 1]
    last = funnel_steps(con, FunnelSpec(steps=["a", "b"], breakdown="$browser", attribution="last_touch"))
    groups = {(r["breakdown"], r["step"]): r["count"] for r in last.to_pylist() if not r["is_total"]}
    assert groups == {("chrome", 1): 2, ("chrome", 2): 1}


@pytest.mark.parametrize("mode", ["ordered", "strict", "unordered"])
def test_a_breakdown_at_one_instant_does_not_depend_on_storage_order(mode):
    # Two step-1 events and two step-2 events at one instant each, differing only in the breakdown
    # value: every engine picks the same one, whichever order the rows were stored in.
    ff, ch = {"$browser": "firefox"}, {"$browser": "chrome"}
    stored = [("p1", "a", T0, ff), ("p1", "a", T0, ch), ("p1", "b", T0 + MIN, ff), ("p1", "b", T0 + MIN, ch)]
    for attribution, value in [("first_touch", "firefox"), ("last_touch", "chrome")]:
        spec = FunnelSpec(steps=["a", "b"], breakdown="$browser", mode=mode, attribution=attribution)
        for rows in (stored, stored[::-1]):
            table = funnel_steps(warehouse(rows), spec)
            groups = {(r["breakdown"], r["step"]): r["count"] for r in table.to_pylist() if not r["is_total"]}
            assert groups == {(value, 1): 1, (value, 2): 1}, (attribution, rows[0][3])


def test_counting_totals_and_sessions():
    con = warehouse(
        [
            ("p", "a", T0, {}, "s1"),
            ("p", "b", T0 + MIN, {}, "s1"),
            ("p", "a", T0 + timedelta(hours=1), {}, "s2"),
            ("p", "b", T0 + timedelta(hours=2), {}, "s3"),
        ]
    )
    assert counts(con, steps=["a", "b"]) == [1, 1]
    assert counts(con, steps=["a", "b"], count="totals") == [2, 2]
    assert counts(con, steps=["a", "b"], count="sessions") == [2, 1]


def test_tenant_and_date_range_filter_events():
    con = warehouse(
        sequence("p1", ["a", "b"])
        + [("p2", "a", T0, {"tenant_id": "acme"}), ("p2", "b", T0 + MIN, {"tenant_id": "acme"})]
        + sequence("p3", ["a", "b"], T0 + timedelta(days=2))
    )
    assert counts(con, steps=["a", "b"]) == [3, 3]
    assert counts(con, steps=["a", "b"], tenant="acme") == [1, 1]
    assert counts(con, steps=["a", "b"], **{"from": "2021-05-02", "to": "2021-05-04"}) == [1, 1]


def test_time_to_convert_histogram_uses_cube_root_bins():
    events = []
    for i in range(27):  # 27 conversions → 3 bins
        events += sequence(f"p{i}", ["a", "b"], gap=timedelta(seconds=10 + 3 * i))
    con = warehouse(events)
    table = time_to_convert(con, FunnelSpec(steps=["a", "b"]))
    # 10, 13, …, 88 s: 3 bins of ceil(78 / 3) = 26 s from 10 s; the last bin holds the maximum.
    assert table["bin_start_s"].to_pylist() == [10.0, 36.0, 62.0]
    assert table["count"].to_pylist() == [9, 9, 9]
    # 2 bins of 39 s: 10..46 (13 values), 49..88 (14 values).
    assert time_to_convert(con, FunnelSpec(steps=["a", "b"]), bins=2)["count"].to_pylist() == [13, 14]


def test_trends_bucket_by_step_one_day():
    con = warehouse(
        sequence("p1", ["a", "b"])
        + sequence("p2", ["a"])
        + sequence("p1", ["a"], T0 + timedelta(days=1))
        + sequence("p3", ["a", "b"], T0 + timedelta(days=1))
    )
    rows = funnel_trends(con, FunnelSpec(steps=["a", "b"]), "day").to_pylist()
    assert [(r["period"].date().isoformat(), r["entered"], r["converted"]) for r in rows] == [
        ("2021-05-01", 2, 1),
        ("2021-05-02", 2, 1),
    ]
    assert [r["conversion_rate"] for r in rows] == [0.5, 0.5]


def test_empty_funnel_gives_zero_counts():
    con = warehouse(sequence("p", ["z"]))
    rows = funnel_steps(con, FunnelSpec(steps=["a", "b"], breakdown="x")).to_pylist()
    assert [(r["is_total"], r["count"], r["conversion_from_start"]) for r in rows] == [(True, 0, 0.0)] * 2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("30m", 1800),
        ("2h", 7200),
        ("14d", 1_209_600),
        ("1w", 604_800),
        ("2M", 5_184_000),
        (90, 90),
    ],
)
def test_window_units(text, seconds):
    assert parse_window(text) == seconds


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"steps": ["a", "b"], "window": "14x"}, "expected a count and a unit"),
        ({"steps": ["a"]}, "at least 2"),
        ({"steps": ["a", "b"], "exclusions": ["x:2-3"]}, "past the last step"),
        ({"steps": ["a", "b"], "exclusions": ["x-1-2"]}, "expected EVENT:FROM-TO"),
        ({"steps": ["a", "a"], "mode": "unordered"}, "different event for every step"),
        ({"steps": ["a", "b"], "mode": "sideways"}, "ordered"),
        ({"steps": ["a", "b"], "exclusions": ["x:1-2"] * 21}, "at most 20"),
    ],
)
def test_bad_specs_name_the_problem(spec, message):
    with pytest.raises(ValidationError, match=message):
        FunnelSpec(**spec)


def test_units_whose_hashes_collide_are_still_told_apart(monkeypatch):
    # Ordered funnels sort units by a hash; with every hash equal, the units' events interleave
    # in time and the engine must notice and sort by the unit itself.
    con = warehouse(
        sequence("p1", ["a", "b", "c"], gap=timedelta(seconds=10))
        + sequence("p2", ["a", "x", "b"], T0 + timedelta(seconds=5), gap=timedelta(seconds=10))
        + sequence("p3", ["b", "a"], T0 + timedelta(seconds=1))
    )
    spec = FunnelSpec(steps=["a", "b", "c"], breakdown="$browser")
    honest = funnel_steps(con, spec)
    orders = []
    select = ordered._select
    monkeypatch.setattr(ordered, "_UNIT_HASH", "0::ubigint")
    monkeypatch.setattr(ordered, "_select", lambda *args: orders.append(args[-1]) or select(*args))
    collided = funnel_steps(con, spec)
    assert orders == ["unit_hash", "unit"]
    assert collided.to_pylist() == honest.to_pylist()
    assert honest.filter(honest["is_total"])["count"].to_pylist() == [3, 2, 1]
    people = funnel_people(con, spec, 3)
    assert people["unit"].to_pylist() == ["p2"] and people["deepest_step"].to_pylist() == [2]


def test_one_evaluation_serves_every_result_inside_its_block(monkeypatch):
    from opsledger.funnels import engine
    from opsledger.funnels.marts import build_funnel_marts

    con = warehouse(sequence("p1", ["a", "b", "c"]) + sequence("p2", ["a", "b"]) + sequence("p3", ["a"]))
    spec = FunnelSpec(name="abc", steps=["a", "b", "c"])
    alone = (funnel_steps(con, spec), time_to_convert(con, spec), funnel_people(con, spec, 3))
    builds = []
    build = engine._build
    monkeypatch.setattr(engine, "_build", lambda *args: builds.append(args[1:]) or build(*args))
    with engine.evaluated(con, spec):
        shared = (funnel_steps(con, spec), time_to_convert(con, spec), funnel_people(con, spec, 3))
        with pytest.raises(RuntimeError, match="one funnel per connection"):
            funnel_steps(con, FunnelSpec(steps=["a", "b"]))
    assert builds == [(spec, None)]
    assert [t.to_pylist() for t in shared] == [t.to_pylist() for t in alone]
    assert [row["count"] for row in shared[0].to_pylist()] == [3, 2, 1]

    # The marts: one evaluation for steps, time to convert, people and every step's why; one for
    # the trends (counted per period) and one per breakdown property.
    con.register("no_logs", SCHEMAS["log_records"].empty_table())
    con.execute("create table log_records as select * replace (attributes::json as attributes) from no_logs")
    builds.clear()
    build_funnel_marts(con, [spec.model_copy(update={"breakdowns": ["plan"]})])
    assert [grain for _, grain in builds] == [None, "day", None]
    assert con.sql("select count from mart_funnel_steps order by step").fetchall() == [(3,), (2,), (1,)]


def test_bad_step_numbers_are_user_errors():
    con = warehouse(sequence("p", ["a", "b"]))
    with pytest.raises(OpsledgerError, match="drop-offs"):
        funnel_people(con, FunnelSpec(steps=["a", "b"]), 1)
    with pytest.raises(OpsledgerError, match="time to convert"):
        time_to_convert(con, FunnelSpec(steps=["a", "b"]), from_step=2)
