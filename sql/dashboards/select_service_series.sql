-- Per-service time series for [$start, $end) at $grain ('hour' or 'day'): the mart is chosen
-- by a bound value, so no table name is ever substituted into the text.
with buckets as (
    select 'hour' as grain, * from mart_service_hourly
    union all by name
    select 'day' as grain, * from mart_service_daily
)
select
    service,
    bucket,
    requests,
    errors,
    error_ratio,
    latency_p50_ms,
    latency_p95_ms,
    latency_p99_ms
from buckets
where grain = $grain and bucket >= $start and bucket < $end and list_contains($services, service)
order by service, bucket
