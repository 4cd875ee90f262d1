"""SLO facts: per-minute good/total from Prometheus counters in metric_samples (with resets) and
from SQL over warehouse tables; missing minutes stay absent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from opsledger.contract import table_from_pydict
from opsledger.slo.durations import Shorthand
from opsledger.slo.facts import SourceError, build_facts, parse_selector
from opsledger.slo.spec import (
    SLO,
    ErrorRatioIndicator,
    Objective,
    Origin,
    PrometheusSource,
    RatioIndicator,
    SqlSource,
    ThresholdIndicator,
    TimeWindow,
)

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_slo(indicator, *, objectives=None, group_by=()) -> SLO:
    return SLO(
        name="checkout-availability",
        service="checkout",
        objectives=objectives or (Objective(target=0.99, target_percent=99),),
        time_window=TimeWindow(duration=Shorthand(30, "d")),
        indicator=indicator,
        group_by=group_by,
        origin=Origin(path=Path("test.yaml"), format="openslo/v1"),
    )


def samples(rows: list[tuple[float, str, dict[str, str], float]]):
    """(minute offset, metric, labels, value) → a metric_samples table."""
    return table_from_pydict(
        "metric_samples",
        {
            "ts": [at(m) for m, *_ in rows],
            "metric": [metric for _, metric, _, _ in rows],
            "labels": [list(labels.items()) for _, _, labels, _ in rows],
            "value": [value for *_, value in rows],
            "source": ["test"] * len(rows),
        },
    )


def as_rows(facts) -> list[tuple[str, float, float, float]]:
    return [
        (r["grp"], (r["minute"] - T0) / timedelta(minutes=1), r["good"], r["total"])
        for r in facts.to_pylist()
    ]


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


OK = {"service": "checkout", "code": "200"}
ERR = {"service": "checkout", "code": "503"}
OTHER = {"service": "search", "code": "200"}
REQUESTS = "http_requests_total"


def test_counter_increases_with_a_reset_and_a_gap(con):
    con.register(
        "metric_samples",
        samples(
            [
                (-0.5, REQUESTS, OK, 100),  # baseline before the range
                (0.25, REQUESTS, OK, 110),
                (0.75, REQUESTS, OK, 130),
                (1.25, REQUESTS, OK, 4),  # restart: the counter starts again from 0
                (1.75, REQUESTS, OK, 9),
                (5.5, REQUESTS, OK, 19),  # minutes 2–4 have no samples: absent, not zero
                (0.5, REQUESTS, ERR, 7),  # first sample of this series: a baseline only
                (1.5, REQUESTS, ERR, 10),
                (5.5, REQUESTS, ERR, 2),  # reset again
                (1.0, REQUESTS, OTHER, 1000),  # another service, filtered out
                (1.5, REQUESTS, OTHER, 2000),
            ]
        ),
    )
    slo = make_slo(
        RatioIndicator(
            good=PrometheusSource(query='http_requests_total{service="checkout",code!~"5.."}'),
            total=PrometheusSource(query='http_requests_total{service="checkout"}'),
        )
    )
    facts = build_facts(con, slo, T0, at(10))
    assert as_rows(facts) == [
        ("", 0, 30, 30),  # 10 + 20 good; the 503 series' baseline adds no events
        ("", 1, 9, 12),  # 4 (reset) + 5 good, 3 errors
        ("", 5, 10, 12),  # 10 good, 2 errors after the reset
    ]
    assert facts.schema.field("minute").type.tz == "UTC"
    assert set(facts.column("slo").to_pylist()) == {"checkout-availability"}


def test_bad_selector_and_grouping_by_label(con):
    con.register(
        "metric_samples",
        samples(
            [
                (0.0, REQUESTS, OK, 0),
                (1.0, REQUESTS, OK, 50),
                (0.0, REQUESTS, ERR, 0),
                (1.0, REQUESTS, ERR, 5),
                (0.0, REQUESTS, OTHER, 0),
                (1.0, REQUESTS, OTHER, 8),
                (0.0, REQUESTS, {"service": "search", "code": "500"}, 0),
                (1.0, REQUESTS, {"service": "search", "code": "500"}, 2),
            ]
        ),
    )
    slo = make_slo(
        RatioIndicator(
            bad=PrometheusSource(query='sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'),
            total=PrometheusSource(query="http_requests_total"),
        ),
        group_by=("service",),
    )
    assert as_rows(build_facts(con, slo, T0, at(5))) == [
        ("checkout", 0, 0, 0),
        ("checkout", 1, 50, 55),
        ("search", 0, 0, 0),
        ("search", 1, 8, 10),
    ]


def test_missing_label_matches_empty_string_and_equality(con):
    con.register(
        "metric_samples",
        samples(
            [
                (0.0, REQUESTS, {"code": "200"}, 0),
                (1.0, REQUESTS, {"code": "200"}, 4),
                (0.0, REQUESTS, {"code": "200", "canary": "yes"}, 0),
                (1.0, REQUESTS, {"code": "200", "canary": "yes"}, 6),
            ]
        ),
    )
    slo = make_slo(
        RatioIndicator(
            good=PrometheusSource(query='http_requests_total{canary=""}'),
            total=PrometheusSource(query='http_requests_total{code="200"}'),
        )
    )
    assert as_rows(build_facts(con, slo, T0, at(5)))[-1] == ("", 1, 4, 10)


@pytest.mark.parametrize(
    ("query", "metric", "matchers"),
    [
        ("up", "up", ()),
        (
            'http_requests_total{service="a", code!~"5..",path=~"/api/.*", env!="dev"}',
            "http_requests_total",
            (("service", "=", "a"), ("code", "!~", "5.."), ("path", "=~", "/api/.*"), ("env", "!=", "dev")),
        ),
        ('x{a="quote \\" inside"}', "x", (("a", "=", 'quote " inside'),)),
        ('x{city="Zürich",code=~"5\\\\d\\\\d"}', "x", (("city", "=", "Zürich"), ("code", "=~", "5\\d\\d"))),
        ("sum(increase(x{a='b'}[5m]))", "x", (("a", "=", "b"),)),
    ],
)
def test_selector_subset(query, metric, matchers):
    selector = parse_selector(query)
    assert (selector.metric, selector.matchers) == (metric, matchers)


@pytest.mark.parametrize(
    "query",
    [
        "rate(http_requests_total[5m])",
        "a / b",
        "x{code=500}",
        'x{code="5.."} offset 5m',
        'histogram_quantile(0.9, x{a="b"})',
        'x{code=~"(5.."}',
    ],
)
def test_anything_beyond_a_selector_is_rejected(con, query):
    with pytest.raises(SourceError) as info:
        parse_selector(query)
    assert query in str(info.value)


def log_records(rows: list[tuple[float, str, int, float]]):
    """(minute offset, service, http_status, duration_ms) → a log_records table."""
    return table_from_pydict(
        "log_records",
        {
            "ts": [at(m) for m, *_ in rows],
            "service": [s for _, s, _, _ in rows],
            "http_status": [c for _, _, c, _ in rows],
            "duration_ms": [d for *_, d in rows],
            "source": ["test"] * len(rows),
        },
    )


LOGS = [
    (0.1, "checkout", 200, 120.0),
    (0.2, "checkout", 500, 40.0),
    (0.9, "search", 200, 900.0),
    (3.0, "checkout", 404, 310.0),
    (3.5, "checkout", 503, 300.0),
    (3.9, "search", 200, 250.0),
    (12.0, "checkout", 200, 10.0),  # outside [start, end)
]


def test_sql_good_filter_over_log_records(con):
    con.register("log_records", log_records(LOGS))
    slo = make_slo(
        RatioIndicator(
            good=SqlSource(table="log_records", filter="http_status < 500"),
            total=SqlSource(table="log_records"),
        )
    )
    assert as_rows(build_facts(con, slo, T0, at(10))) == [("", 0, 2, 3), ("", 3, 2, 3)]


def test_sql_bad_filter_grouped_by_service(con):
    con.register("log_records", log_records(LOGS))
    slo = make_slo(
        RatioIndicator(
            bad=SqlSource(table="log_records", filter="http_status >= 500"),
            total=SqlSource(table="log_records"),
        ),
        group_by=("service",),
    )
    assert as_rows(build_facts(con, slo, T0, at(10))) == [
        ("checkout", 0, 1, 2),
        ("checkout", 3, 1, 2),
        ("search", 0, 1, 1),
        ("search", 3, 1, 1),
    ]


def test_sql_threshold_latency_per_objective(con):
    con.register("log_records", log_records(LOGS))
    slo = make_slo(
        ThresholdIndicator(source=SqlSource(table="log_records", value="duration_ms")),
        objectives=(
            Objective(target=0.9, target_percent=90, op="lte", value=300),
            Objective(target=0.5, target_percent=50, op="lt", value=300),
        ),
    )
    assert as_rows(build_facts(con, slo, T0, at(10), objective=0)) == [("", 0, 2, 3), ("", 3, 2, 3)]
    assert as_rows(build_facts(con, slo, T0, at(10), objective=1)) == [("", 0, 2, 3), ("", 3, 1, 3)]


def test_sql_query_source_counts_its_value_column(con):
    con.register("log_records", log_records(LOGS))
    query = "select ts, case when http_status < 500 then 2 else 0 end as value from log_records"
    slo = make_slo(
        RatioIndicator(
            good=SqlSource(query=query, value="value"),
            total=SqlSource(query="select ts, 2 as value from log_records", value="value"),
        )
    )
    assert as_rows(build_facts(con, slo, T0, at(10))) == [("", 0, 4, 6), ("", 3, 4, 6)]


@pytest.mark.parametrize(
    ("indicator", "group_by", "message"),
    [
        (
            RatioIndicator(good=SqlSource(table="log_records"), total=SqlSource(table="log_records")),
            ("tenant; drop table x",),
            "has no column",
        ),
        (
            RatioIndicator(
                good=SqlSource(table="log_records", filter="no_such_column > 1"),
                total=SqlSource(table="log_records"),
            ),
            (),
            "SQL source failed",
        ),
        (ErrorRatioIndicator(source=PrometheusSource(query="x")), (), "no event counts"),
    ],
)
def test_unusable_sources_fail_with_one_line(con, indicator, group_by, message):
    con.register("log_records", log_records(LOGS))
    with pytest.raises(SourceError, match=message) as info:
        build_facts(con, make_slo(indicator, group_by=group_by), T0, at(10))
    assert "checkout-availability" in str(info.value) and "\n" not in str(info.value)
