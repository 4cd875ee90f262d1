"""The overview page rendered headless (Streamlit AppTest) against a seeded warehouse."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from opsledger.settings import Settings

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"

SEED_SQL = """
create table mart_service_hourly as
select
    service,
    timestamp '2024-03-01 00:00:00' + to_hours(h) as bucket,
    cast(100 + (h * 7 + s * 31) % 50 as double) as requests,
    cast((h + s) % 5 as double) as errors,
    errors / requests as error_ratio,
    cast(20 + 10 * s + h % 5 as double) as latency_p50_ms,
    3 * latency_p50_ms + (h % 11) as latency_p95_ms,
    5 * latency_p50_ms + (h % 13) as latency_p99_ms
from range(0, 240) as hours(h), (values (0, 'api'), (1, 'checkout'), (2, 'search')) as services(s, service);

create table mart_service_daily as
select
    service,
    date_trunc('day', bucket) as bucket,
    sum(requests) as requests,
    sum(errors) as errors,
    sum(errors) / sum(requests) as error_ratio,
    max(latency_p50_ms) as latency_p50_ms,
    max(latency_p95_ms) as latency_p95_ms,
    max(latency_p99_ms) as latency_p99_ms
from mart_service_hourly
group by all;
"""


@pytest.fixture
def seeded_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Ten days (2024-03-01..10) of hourly traffic for three services, and its daily roll-up."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(SEED_SQL)
    con.close()
    monkeypatch.setenv("OPSLEDGER_HOME", str(tmp_path))
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def overview_home(demo_home: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The built demo warehouse (its path), with OPSLEDGER_HOME pointing at its home."""
    monkeypatch.setenv("OPSLEDGER_HOME", str(demo_home.home_dir))
    monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
    return demo_home.warehouse_path


def _sql(warehouse: Path, query: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def _number(text: str) -> float:
    return float(text.replace(",", "").removesuffix(" ms").removesuffix("%"))


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _traces(at: AppTest, chart: int) -> list[dict]:
    return json.loads(at.get("plotly_chart")[chart].proto.spec)["data"]


def test_full_range_metrics_and_table_match_sql(overview_home: Path) -> None:
    at = _run(AppTest.from_file(APP, default_timeout=60))

    assert at.title[0].value == "Overview"
    requests, errors, worst_p95 = _sql(
        overview_home,
        "select sum(requests), sum(errors), max(latency_p95_ms) from mart_service_daily",
    )[0]
    metrics = _metrics(at)
    assert _number(metrics["Total requests"]) == round(requests)
    assert _number(metrics["Error ratio"]) == pytest.approx(100 * errors / requests, abs=5e-4)
    assert _number(metrics["Worst p95"]) == pytest.approx(worst_p95, abs=0.05)
    assert len(at.get("plotly_chart")) == 3

    expected = _sql(
        overview_home,
        "select service, sum(requests), sum(errors), max(latency_p95_ms) from mart_service_daily "
        "group by service order by service",
    )
    table = at.table[0].value.sort_values("Service")
    assert list(table.columns) == ["Service", "Requests", "Errors", "Error ratio", "p95 (peak day, ms)"]
    shown = list(table[["Service", "Requests", "Errors", "p95 (peak day, ms)"]].itertuples(index=False))
    for row, want in zip(shown, expected, strict=True):
        assert row[0] == want[0]
        assert tuple(row[1:]) == pytest.approx(want[1:])


def test_two_days_of_one_service_match_sql_at_hourly_grain(overview_home: Path) -> None:
    ((first_day, service),) = _sql(
        overview_home, "select cast(min(bucket) as date), min(service) from mart_service_daily"
    )
    last_day = first_day + timedelta(days=1)
    at = _run(AppTest.from_file(APP, default_timeout=60))
    at.date_input(key="days").set_value((first_day, last_day))
    at.multiselect(key="services").set_value([service])
    _run(at)

    in_range = "from mart_service_hourly where service = ? and bucket >= ? and bucket < ?"
    params = [service, first_day, last_day + timedelta(days=1)]
    ((requests, errors, hours, first_hour, last_hour),) = _sql(
        overview_home,
        f"select sum(requests), sum(errors), count(*), min(bucket), max(bucket) {in_range}",
        params,
    )
    metrics = _metrics(at)
    assert _number(metrics["Total requests"]) == round(requests)
    assert _number(metrics["Error ratio"]) == pytest.approx(100 * errors / requests, abs=5e-4)
    assert at.table[0].value["Service"].tolist() == [service]
    # Hourly grain: one point per hour bucket of the one service, none outside the two days.
    (trace,) = _traces(at, 0)
    assert len(trace["x"]) == hours
    assert trace["x"][0].startswith(first_hour.isoformat()) and trace["x"][-1].startswith(
        last_hour.isoformat()
    )


def test_more_than_seven_days_are_charted_per_day(seeded_home: Path) -> None:
    at = _run(AppTest.from_file(APP, default_timeout=60))

    assert "daily buckets" in at.caption[0].value
    traces = _traces(at, 0)
    assert sorted(t["name"] for t in traces) == ["api", "checkout", "search"]
    assert all(len(t["x"]) == 10 for t in traces)


@pytest.mark.parametrize(
    ("setup", "advice"),
    [
        ("", "opsledger demo"),
        ("select 1", "opsledger build"),
        (SEED_SQL.replace("from range(0, 240)", "from range(0, 0)"), "no traffic yet"),
    ],
    ids=["no warehouse", "no marts", "empty marts"],
)
def test_missing_data_shows_what_to_run(
    setup: str, advice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if setup:
        con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
        con.execute(setup)
        con.close()
    monkeypatch.setenv("OPSLEDGER_HOME", str(tmp_path))
    at = _run(AppTest.from_file(APP, default_timeout=60))

    assert advice in at.info[0].value
    assert not at.metric
    assert not at.get("plotly_chart")
