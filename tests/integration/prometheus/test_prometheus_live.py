"""The live Prometheus collector against a real Prometheus serving the demo's backfilled metrics.

The reference in every comparison is Prometheus itself: a plain ``query_range`` request over the
same range, made here with ``requests``. Faults that need a misbehaving server (503 then
recovery, a slow answer, checking what credentials are sent) go through a tiny HTTP proxy on
127.0.0.1 that forwards to the real Prometheus: a protocol-boundary test, not a mock.
"""

from __future__ import annotations

import itertools
import logging
import socket
import time
from datetime import datetime, timedelta

import pyarrow.dataset as ds
import pytest
import requests
from click.testing import CliRunner

from collectors.prometheus_live import (
    PrometheusClient,
    PrometheusSettings,
    parse_step_ms,
    to_ms,
    windows,
)
from opsledger import watermarks
from opsledger.errors import OpsledgerError
from opsledger.live_metrics import collect_metrics
from opsledger.settings import Settings

from ..fault_proxy import PROMETHEUS, fault_proxies

CHECKOUT = 'http_requests_total{service="checkout"}'
RATE = "sum by (service) (rate(http_requests_total[5m]))"
TOKEN = "tok-3f9a1c77e2d84b6a9d0e5c1b2a4f6e8d"


def settings_for(url: str, queries=None, **extra) -> PrometheusSettings:
    queries = queries or [{"query": "up", "step": "5m"}]
    fast = {"retries": 1, "backoff_s": 0.01, "backoff_max_s": 5, "read_timeout_s": 10}
    return PrometheusSettings(name="demo", url=url, queries=queries, **{**fast, **extra})


def reference(url: str, query: str, start: datetime, end: datetime, step_s: int) -> set[tuple]:
    """What Prometheus' own query_range returns for the points in [start, end)."""
    last = end - timedelta(seconds=step_s)
    answer = requests.get(
        f"{url}/api/v1/query_range",
        params={"query": query, "start": start.timestamp(), "end": last.timestamp(), "step": step_s},
        timeout=30,
    ).json()
    assert answer["status"] == "success"
    rows = set()
    for series in answer["data"]["result"]:
        labels = dict(series["metric"])
        metric = labels.pop("__name__", None)
        for ts, value in series["values"]:
            rows.add((metric, tuple(sorted(labels.items())), round(ts * 1_000_000), float(value)))
    return rows


def lake_rows(home: Settings, metric: str | None = None) -> list[tuple]:
    folder = home.lake_dir / "metric_samples"
    if not folder.exists():
        return []
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    return [
        (r["metric"], tuple(sorted(r["labels"])), to_ms(r["ts"]) * 1000, r["value"])
        for r in table.to_pylist()
        if metric is None or r["metric"] == metric
    ]


def batches(home: Settings) -> list[dict]:
    folder = home.lake_dir / "ingest_batches"
    if not folder.exists():
        return []
    rows = ds.dataset(folder, format="parquet", partitioning="hive").to_table().to_pylist()
    return sorted(rows, key=lambda r: r["batch_id"])


class CountingClient(PrometheusClient):
    """The real client, recording how many points each request asked for."""

    def __init__(self, settings):
        super().__init__(settings)
        self.requests: list[tuple[str, int]] = []

    def query_range(self, query, first_ms, last_ms):
        self.requests.append((query.label, (last_ms - first_ms) // query.step_ms + 1))
        return super().query_range(query, first_ms, last_ms)


def test_collects_what_query_range_returns_across_chunks_and_a_counter_reset(home, prometheus, demo_range):
    start, end = demo_range
    queries = [
        {"query": CHECKOUT, "step": 60},
        {"query": "up", "step": "5m"},
        {"name": "service_request_rate", "query": RATE, "step": "5m"},
    ]
    prom = settings_for(prometheus.url, queries, max_points_per_request=100)
    client = CountingClient(prom)

    result = collect_metrics(home, prom, start, end, client=client)

    expected = {
        "http_requests_total": reference(prometheus.url, CHECKOUT, start, end, 60),
        "up": reference(prometheus.url, "up", start, end, 300),
        "service_request_rate": {
            ("service_request_rate", *row[1:]) for row in reference(prometheus.url, RATE, start, end, 300)
        },
    }
    stored = lake_rows(home)
    assert len(stored) == len(set(stored)) == sum(len(rows) for rows in expected.values())
    for metric, rows in expected.items():
        assert rows and set(lake_rows(home, metric)) == rows, metric
    # 1440 one-minute points a day in requests of at most 100: 15 requests a day for the counter.
    assert max(points for _, points in client.requests) == 100
    assert sum(1 for label, _ in client.requests if label == CHECKOUT) == 2 * 15

    by_series: dict[tuple, list[tuple[int, float]]] = {}
    for _, labels, ts, value in lake_rows(home, "http_requests_total"):
        by_series.setdefault(labels, []).append((ts, value))
    drops = sum(
        1 for points in by_series.values() for (_, a), (_, b) in itertools.pairwise(sorted(points)) if b < a
    )
    assert drops >= 1, "the demo's checkout counters reset on deploys; the raw values must show it"

    assert [b["status"] for b in batches(home)] == ["succeeded", "succeeded"]
    assert all(b["rows_read"] == b["rows_written"] + b["rows_quarantined"] for b in batches(home))
    assert result.rows_written == len(stored)
    assert watermarks.get(home.home_dir, "prometheus:demo", "metric_samples") == end

    files_before = sorted(p.name for p in home.lake_dir.joinpath("metric_samples").rglob("*.parquet"))
    again = collect_metrics(home, prom, start, end)
    assert again.rows_written == result.rows_written
    assert sorted(lake_rows(home)) == sorted(stored)
    assert sorted(p.name for p in home.lake_dir.joinpath("metric_samples").rglob("*.parquet")) == files_before
    assert len(batches(home)) == 4


def test_default_range_resumes_from_the_watermark(home, prometheus, demo_range):
    start, end = demo_range
    prom = settings_for(prometheus.url)
    with pytest.raises(OpsledgerError, match="no watermark"):
        collect_metrics(home, prom, end=end)

    noon = start + timedelta(days=1, hours=12)
    first = collect_metrics(home, prom, start, noon)
    assert len(first.batches) == 2
    assert watermarks.get(home.home_dir, prom.source, "metric_samples") == noon

    resumed = collect_metrics(home, prom, end=end)
    # The partly collected day is collected again from its midnight, as a whole.
    assert resumed.start == start + timedelta(days=1) and len(resumed.batches) == 1
    stored = lake_rows(home)
    assert len(stored) == len(set(stored))
    assert set(stored) == reference(prometheus.url, "up", start, end, 300)


def test_server_down_at_start_is_one_clear_error(home, demo_range):
    start, end = demo_range
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(OpsledgerError) as failure:
        collect_metrics(home, settings_for(url, retries=2), start, end)
    message = str(failure.value)
    assert message.startswith("prometheus:demo: ")
    assert url in message and "2026-10-01T00:00:00Z" in message
    assert "Connection refused" in message and "gave up after 3 attempt(s)" in message
    assert watermarks.get(home.home_dir, "prometheus:demo", "metric_samples") is None
    assert lake_rows(home) == []
    [batch] = batches(home)
    assert batch["status"] == "failed" and "Connection refused" in batch["error"]


def test_server_killed_mid_collection_keeps_previous_data_and_rerun_completes(
    home, start_prometheus, demo_range
):
    start, end = demo_range
    server = start_prometheus()
    prom = settings_for(server.url, [{"query": CHECKOUT, "step": 60}], max_points_per_request=200)
    second_day = start + timedelta(days=1)
    collect_metrics(home, prom, start, second_day)
    day_one = sorted(lake_rows(home))
    assert day_one

    def kill_during_day_two(day, read):
        if day == second_day.date():
            server.kill()

    with pytest.raises(OpsledgerError, match="connection failed") as failure:
        collect_metrics(home, prom, start, end, progress=kill_during_day_two)
    assert "2026-10-02T" in str(failure.value)
    assert sorted(lake_rows(home)) == day_one
    assert not list(home.lake_dir.glob("metric_samples/date=2026-10-02/*"))
    assert watermarks.get(home.home_dir, prom.source, "metric_samples") == second_day
    assert batches(home)[-1]["status"] == "failed"

    start_prometheus(server)  # the same data dir, after the crash
    collect_metrics(home, prom, end=end)
    stored = lake_rows(home)
    assert len(stored) == len(set(stored))
    assert set(stored) == reference(server.url, CHECKOUT, start, end, 60)
    assert watermarks.get(home.home_dir, prom.source, "metric_samples") == end


@pytest.fixture
def proxy(prometheus):
    with fault_proxies(prometheus.url, PROMETHEUS) as make:
        yield make


def test_503_then_recovery_completes_after_honouring_retry_after(home, prometheus, proxy, demo_range, caplog):
    start, _ = demo_range
    end = start + timedelta(days=1)
    server = proxy(fail_first=1)
    result = collect_metrics(home, settings_for(server.url, retries=3), start, end)
    assert result.retries == 1
    assert len(server.seen) == 2
    assert server.seen[1].at - server.seen[0].at >= 1.0  # Retry-After: 1
    assert "HTTP 503" in caplog.text and "retry 1 of 3" in caplog.text
    assert set(lake_rows(home)) == reference(prometheus.url, "up", start, end, 300)
    assert watermarks.get(home.home_dir, "prometheus:demo", "metric_samples") == end


def test_slow_response_beyond_the_timeout_is_a_clear_error(home, proxy, demo_range):
    start, end = demo_range
    server = proxy(delay_s=3)
    began = time.monotonic()
    with pytest.raises(OpsledgerError) as failure:
        collect_metrics(home, settings_for(server.url, read_timeout_s=0.3, retries=1), start, end)
    assert time.monotonic() - began < 2.5
    message = str(failure.value)
    assert "no answer within 0.3 s (read timeout)" in message and "gave up after 2 attempt(s)" in message
    assert server.url in message and "prometheus:demo" in message
    assert watermarks.get(home.home_dir, "prometheus:demo", "metric_samples") is None
    assert lake_rows(home) == []


def test_bearer_token_is_sent_but_never_logged_or_in_errors(home, proxy, demo_range, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    start, _ = demo_range
    end = start + timedelta(days=1)
    monkeypatch.setenv("PROM_TEST_TOKEN", TOKEN)

    ok = proxy(auth=f"Bearer {TOKEN}")
    result = collect_metrics(home, settings_for(ok.url, bearer_token_env="PROM_TEST_TOKEN"), start, end)
    assert result.rows_written > 0 and ok.seen[0].auth == f"Bearer {TOKEN}"

    echoing = proxy(auth=f"Bearer {TOKEN}", fail_first=10)
    with pytest.raises(OpsledgerError) as overloaded:
        collect_metrics(home, settings_for(echoing.url, bearer_token_env="PROM_TEST_TOKEN"), start, end)
    assert "HTTP 503" in str(overloaded.value) and "Bearer ***" in str(overloaded.value)

    monkeypatch.setenv("PROM_TEST_TOKEN", "wrong-token-value")
    with pytest.raises(OpsledgerError, match="HTTP 401.*credentials"):
        collect_metrics(home, settings_for(ok.url, bearer_token_env="PROM_TEST_TOKEN", retries=3), start, end)
    assert len(ok.seen) == 2  # the successful request, then one refused one: 401 is not retried

    errors = " ".join(str(b["error"]) for b in batches(home))
    for text in (str(overloaded.value), caplog.text, errors):
        assert TOKEN not in text and "wrong-token-value" not in text
    assert "HTTP 503" in caplog.text  # the retries were logged, without the echoed token


def test_cli_command_collects_into_the_warehouse(home, prometheus, demo_range):
    from opsledger import warehouse
    from opsledger.cli_collect_prometheus import prometheus as command

    start, end = demo_range
    path = home.home_dir / "prometheus.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"name: demo\nurl: {prometheus.url}\nqueries:\n  - query: up\n    step: 5m\n")
    result = CliRunner().invoke(command, ["--start", "2026-10-01", "--end", "2026-10-03T00:00Z"])
    assert result.exit_code == 0, result.output
    expected = len(reference(prometheus.url, "up", start, end, 300))
    assert "2 day(s)" in result.output and f"{expected} samples stored" in result.output
    con = warehouse.connect(home.warehouse_path)
    try:
        assert con.sql("select count(*) from metric_samples").fetchall() == [(expected,)]
    finally:
        con.close()


def test_request_windows_tile_the_range_within_the_point_limit():
    start_ms, step = 1_790_812_800_000, 60_000
    for end_ms in (start_ms + 86_400_000, start_ms + 86_400_000 + 1, start_ms + 59_000, start_ms):
        points = [
            t for first, last in windows(start_ms, end_ms, step, 100) for t in range(first, last + 1, step)
        ]
        assert points == list(range(start_ms, end_ms, step))
        assert all((last - first) // step + 1 <= 100 for first, last in windows(start_ms, end_ms, step, 100))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"url": "http://user:pw@127.0.0.1:9090"}, "credentials do not belong in the URL"),
        ({"max_points_per_request": 11_001}, "less than or equal to 11000"),
        ({"queries": [{"query": "up", "step": "soon"}]}, "not a duration"),
        ({"username_env": "U"}, "both username_env and password_env"),
    ],
)
def test_settings_reject_unsafe_or_impossible_values(change, problem):
    with pytest.raises(ValueError, match=problem):
        PrometheusSettings.model_validate(
            {"name": "x", "url": "http://127.0.0.1:9090", "queries": [{"query": "up"}]} | change
        )


def test_step_durations():
    assert [parse_step_ms(v) for v in (60, "30s", "1m30s", "1h", "250ms", "0.5")] == [
        60_000,
        30_000,
        90_000,
        3_600_000,
        250,
        500,
    ]


def test_missing_credential_variable_is_named(monkeypatch):
    monkeypatch.delenv("PROM_TEST_TOKEN", raising=False)
    with pytest.raises(OpsledgerError, match="environment variable PROM_TEST_TOKEN"):
        PrometheusClient(settings_for("http://127.0.0.1:1", bearer_token_env="PROM_TEST_TOKEN"))
