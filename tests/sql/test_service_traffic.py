"""The per-service traffic marts on hand-computed input: counter resets, day boundaries and
histogram quantiles as Prometheus' increase() and histogram_quantile() define them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsledger import warehouse
from opsledger.ingest import ingest_file

# 2026-10-01 23:58 … 2026-10-02 00:02, one sample a minute (OpenMetrics timestamps in seconds).
T0 = int(datetime(2026, 10, 1, 23, 58, tzinfo=UTC).timestamp())
OM = f"""# TYPE http_requests counter
http_requests_total{{service="shop",code="200"}} 0 {T0}
http_requests_total{{service="shop",code="200"}} 10 {T0 + 60}
http_requests_total{{service="shop",code="200"}} 25 {T0 + 120}
http_requests_total{{service="shop",code="200"}} 5 {T0 + 180}
http_requests_total{{service="shop",code="200"}} 15 {T0 + 240}
http_requests_total{{service="shop",code="500"}} 0 {T0}
http_requests_total{{service="shop",code="500"}} 2 {T0 + 60}
http_requests_total{{service="shop",code="500"}} 2 {T0 + 120}
http_requests_total{{service="shop",code="500"}} 1 {T0 + 180}
http_requests_total{{service="shop",code="500"}} 4 {T0 + 240}
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{service="shop",le="0.1"}} 0 {T0 + 120}
http_request_duration_seconds_bucket{{service="shop",le="0.1"}} 40 {T0 + 240}
http_request_duration_seconds_bucket{{service="shop",le="0.5"}} 0 {T0 + 120}
http_request_duration_seconds_bucket{{service="shop",le="0.5"}} 90 {T0 + 240}
http_request_duration_seconds_bucket{{service="shop",le="+Inf"}} 0 {T0 + 120}
http_request_duration_seconds_bucket{{service="shop",le="+Inf"}} 100 {T0 + 240}
http_request_duration_seconds_sum{{service="shop"}} 0 {T0 + 120}
http_request_duration_seconds_sum{{service="shop"}} 30 {T0 + 240}
http_request_duration_seconds_count{{service="shop"}} 0 {T0 + 120}
http_request_duration_seconds_count{{service="shop"}} 100 {T0 + 240}
# EOF
"""


@pytest.fixture
def marts(home, tmp_path):
    path = tmp_path / "shop.om"
    path.write_text(OM)
    ingest_file(home.lake_dir, "metric_samples", path)
    warehouse.build(home.warehouse_path, home.lake_dir)
    con = warehouse.connect(home.warehouse_path)
    yield con
    con.close()


def test_daily_requests_and_errors_follow_counter_resets_and_day_boundaries(marts):
    rows = marts.sql(
        "select strftime(bucket, '%Y-%m-%d'), requests, errors, error_ratio "
        "from mart_service_daily order by bucket"
    ).fetchall()
    # 200s: +10 on day 1; +15, +5 (reset to 5), +10 on day 2. 500s: +2 on day 1; +0, +1 (reset), +3 on day 2.
    assert rows == [
        ("2026-10-01", 12, 2, pytest.approx(2 / 12)),
        ("2026-10-02", 34, 4, pytest.approx(4 / 34)),
    ]


def test_latency_quantiles_interpolate_inside_buckets_like_histogram_quantile(marts):
    p50, p95, p99 = marts.sql(
        "select latency_p50_ms, latency_p95_ms, latency_p99_ms from mart_service_daily where requests = 34"
    ).fetchall()[0]
    # 100 observations: 40 ≤ 0.1 s, 50 in (0.1, 0.5], 10 above. Rank 50 → 0.1 + 0.4 × 10/50 = 0.18 s;
    # ranks 95 and 99 fall in +Inf, answered by the highest finite bound, 0.5 s.
    assert (p50, p95, p99) == (pytest.approx(180.0), pytest.approx(500.0), pytest.approx(500.0))


def test_hourly_and_daily_marts_add_up_to_the_same_totals(marts):
    daily = marts.sql("select sum(requests), sum(errors) from mart_service_daily").fetchall()
    hourly = marts.sql("select sum(requests), sum(errors) from mart_service_hourly").fetchall()
    assert daily == hourly == [(46, 6)]
