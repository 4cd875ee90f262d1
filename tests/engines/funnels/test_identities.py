"""Identity merge: several distinct_ids counted as one person, from a CSV, a Parquet file or a table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from opsledger.cli import main
from opsledger.contract import SCHEMAS
from opsledger.errors import OpsledgerError
from opsledger.funnels import FunnelSpec, funnel_people, funnel_steps
from opsledger.funnels.identities import check_identities
from opsledger.funnels.why import why_dropped

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
STEPS = ["add_to_cart", "purchase"]

# anon-1 adds to the cart before signing in, then buys as user-1: one person. solo is unmapped.
# user-2 buys without a step 1 of their own: unmapped, they never enter.
EVENTS = [
    ("anon-1", "add_to_cart", T0, {"$browser": "Firefox"}, "s1"),
    ("user-1", "purchase", T0 + 5 * MIN, {"$browser": "Chrome"}, "s2"),
    ("solo", "add_to_cart", T0, {"$browser": "Safari"}, "s3"),
    ("user-2", "purchase", T0 + 5 * MIN, {"$browser": "Safari"}, "s4"),
]
MAPPING = [("anon-1", "person-1"), ("user-1", "person-1")]


def warehouse(events=EVENTS, path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    rows: dict[str, list] = {name: [] for name in SCHEMAS["product_events"].names}
    for who, event, ts, props, session in events:
        rows["ts"].append(ts)
        rows["distinct_id"].append(who)
        rows["event"].append(event)
        rows["session_id"].append(session)
        rows["tenant_id"].append(None)
        rows["properties"].append(json.dumps(props))
        rows["source"].append("test")
    con = duckdb.connect(path)
    con.register("incoming", pa.table(rows, schema=SCHEMAS["product_events"]))
    con.execute(
        "create table product_events as select * replace (properties::json as properties) from incoming"
    )
    con.unregister("incoming")
    return con


def write_csv(path, pairs, header="distinct_id,person_id"):
    path.write_text("\n".join([header, *(f"{d},{p}" for d, p in pairs)]) + "\n")
    return str(path)


def counts(con, **spec) -> list[int]:
    return funnel_steps(con, FunnelSpec(steps=STEPS, **spec))["count"].to_pylist()


def test_two_ids_of_one_person_convert_once(tmp_path):
    con = warehouse()
    assert counts(con) == [2, 0]  # unmerged, anon-1's cart and user-1's purchase are two strangers
    mapping = write_csv(tmp_path / "ids.csv", MAPPING)
    assert counts(con, identities=mapping) == [2, 1]
    spec = FunnelSpec(steps=STEPS, identities=mapping)
    assert funnel_people(con, spec, 2, dropped=False)["unit"].to_pylist() == ["person-1"]
    assert funnel_people(con, spec, 2)["unit"].to_pylist() == ["solo"]  # unmapped ids stay themselves


def test_parquet_file_and_warehouse_table_give_the_same_merge(tmp_path):
    con = warehouse()
    table = pa.table({"distinct_id": [d for d, _ in MAPPING], "person_id": [p for _, p in MAPPING]})
    pq.write_table(table, tmp_path / "ids.parquet")
    assert counts(con, identities=str(tmp_path / "ids.parquet")) == [2, 1]
    con.register("incoming", table)
    con.execute("create table identity_map as select * from incoming")
    assert counts(con, identities="identity_map") == [2, 1]
    assert check_identities(con, "identity_map") == 2


def test_breakdown_and_totals_use_the_merged_person(tmp_path):
    con = warehouse()
    mapping = write_csv(tmp_path / "ids.csv", MAPPING)
    rows = funnel_steps(con, FunnelSpec(steps=STEPS, identities=mapping, breakdown="$browser")).to_pylist()
    groups = {(r["breakdown"], r["step"]): r["count"] for r in rows if not r["is_total"]}
    # First touch: person-1 is attributed to the browser of the cart (anon-1's Firefox).
    assert groups == {("Firefox", 1): 1, ("Firefox", 2): 1, ("Safari", 1): 1, ("Safari", 2): 0}
    assert counts(con, identities=mapping, count="totals") == [2, 1]


def test_sessions_are_not_merged(tmp_path):
    con = warehouse()
    mapping = write_csv(tmp_path / "ids.csv", MAPPING)
    assert counts(con, identities=mapping, count="sessions") == counts(con, count="sessions") == [2, 0]


def test_one_id_mapped_to_two_persons_is_an_error_naming_the_file_and_id(tmp_path):
    con = warehouse()
    mapping = write_csv(tmp_path / "ids.csv", [*MAPPING, ("solo", "person-2"), ("solo", "person-3")])
    with pytest.raises(OpsledgerError) as caught:
        check_identities(con, mapping)
    assert str(caught.value) == (
        f"identities {mapping}: distinct_id solo maps to more than one person (person-2, person-3)"
    )
    # The engine stops on it too, rather than counting solo's events for two persons.
    with pytest.raises(duckdb.InvalidInputException, match="distinct_id solo maps to more than one"):
        counts(con, identities=mapping)


@pytest.mark.parametrize(
    ("name", "header", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("ids.csv", "who,person_id", "needs the columns distinct_id and person_id"),
        ("no_such_table", None, "no such file or warehouse table"),
    ],
)
def test_unusable_mappings_are_clear_errors(tmp_path, name, header, message):
    source = str(tmp_path / name) if name.endswith(".csv") else name
    if header:
        write_csv(tmp_path / name, MAPPING, header=header)
    with pytest.raises(OpsledgerError, match=f"identities {source}: {message}"):
        check_identities(warehouse(), source)


def test_why_finds_the_logs_of_the_signed_in_id(tmp_path):
    # solo is joined by a second cart-adder, anon-9 (signed in later as user-9), who never buys;
    # the checkout service failed user-9 (the signed-in id) right after anon-9's cart.
    events = [*EVENTS, ("anon-9", "add_to_cart", T0, {}, "s9")]
    con = warehouse(events)
    logs = {name: [] for name in SCHEMAS["log_records"].names}
    for ts, service, user, status in [(T0 + MIN, "checkout", "user-9", 500), (T0 + MIN, "catalog", "x", 500)]:
        for name in logs:
            logs[name].append(None)
        logs["ts"][-1], logs["service"][-1], logs["user_id"][-1] = ts, service, user
        logs["level"][-1], logs["http_status"][-1], logs["source"][-1] = "error", status, "test"
        logs["attributes"][-1] = "{}"
    con.register("incoming", pa.table(logs, schema=SCHEMAS["log_records"]))
    con.execute("create table log_records as select * replace (attributes::json as attributes) from incoming")
    mapping = write_csv(tmp_path / "ids.csv", [*MAPPING, ("anon-9", "person-9"), ("user-9", "person-9")])
    merged = why_dropped(con, FunnelSpec(steps=STEPS, identities=mapping), 2)
    dropped = merged["summary"].to_pylist()[0]
    assert (dropped["outcome"], dropped["people"], dropped["people_with_errors"]) == ("dropped", 2, 1)
    assert merged["services"]["service"].to_pylist() == ["checkout"]
    unmerged = why_dropped(con, FunnelSpec(steps=STEPS), 2)["summary"].to_pylist()[0]
    assert unmerged["people_with_errors"] == 0


def test_cli_identities_option(home, tmp_path):
    home.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    warehouse(path=str(home.warehouse_path)).close()
    env = {"OPSLEDGER_HOME": str(home.home_dir)}
    args = ["funnel", "--steps", ",".join(STEPS), "--format", "json"]
    mapping = write_csv(tmp_path / "ids.csv", MAPPING)
    merged = CliRunner().invoke(main, [*args, "--identities", mapping], env=env)
    assert merged.exit_code == 0, merged.output
    assert [s["count"] for s in json.loads(merged.output)["steps"]] == [2, 1]
    converted = CliRunner().invoke(main, [*args, "--identities", mapping, "--converted", "2"], env=env)
    assert [r["unit"] for r in json.loads(converted.output)["converted"]] == ["person-1"]
    bad = write_csv(tmp_path / "bad.csv", [("solo", "a"), ("solo", "b")])
    result = CliRunner().invoke(main, [*args, "--identities", bad], env=env)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"opsledger: error: identities {bad}: distinct_id solo maps to more than one person (a, b)"
    )


def test_configured_identities_file_is_taken_from_the_config_folder(tmp_path):
    from opsledger.config import OpsledgerConfig
    from opsledger.funnels.marts import build_funnel_marts, configured_funnels

    write_csv(tmp_path / "ids.csv", MAPPING)
    config = OpsledgerConfig(
        funnels=[{"name": "buy", "steps": STEPS, "identities": "ids.csv", "breakdowns": ["$browser"]}],
        base_dir=tmp_path,
    )
    con = warehouse()
    con.register("no_logs", pa.table({n: [] for n in SCHEMAS["log_records"].names}, SCHEMAS["log_records"]))
    con.execute("create table log_records as select * replace (attributes::json as attributes) from no_logs")
    build_funnel_marts(con, configured_funnels(config))
    people = con.sql("select unit, deepest_step from mart_funnel_people order by unit").fetchall()
    assert people == [("person-1", 2), ("solo", 1)]
    browsers = con.sql(
        "select breakdown, count from mart_funnel_breakdowns where property = '$browser' and step = 2"
        " order by breakdown"
    ).fetchall()
    assert browsers == [("Firefox", 1), ("Safari", 0)]
