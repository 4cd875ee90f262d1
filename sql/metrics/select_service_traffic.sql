-- Per service and time bucket ($grain: 'hour' or 'day', UTC): requests, 5xx errors, error ratio
-- and latency p50/p95/p99 in ms, from the increases in `request_increases`
-- (metrics/create_request_increases.sql).
--
-- Quantiles interpolate linearly inside the histogram bucket that holds the rank, with 0 as the
-- lower bound of the first bucket and the +Inf bucket answered by the highest finite bound,
-- as Prometheus' histogram_quantile() does.
with increases as (
    select metric, service, code, le, date_trunc($grain, ts_utc) as bucket, increase
    from request_increases
),
traffic as (
    select
        service,
        bucket,
        sum(increase) filter (where metric = 'http_requests_total') as requests,
        coalesce(sum(increase) filter (where metric = 'http_requests_total' and code like '5%'), 0) as errors
    from increases
    group by service, bucket
),
histogram as (
    select service, bucket, cast(le as double) as le, sum(increase) as cumulative
    from increases
    where metric = 'http_request_duration_seconds_bucket'
    group by service, bucket, le
),
bounds as (
    select
        *,
        lag(le, 1, 0) over w as lower_le,
        lag(cumulative, 1, 0) over w as lower_cumulative,
        max(cumulative) over (partition by service, bucket) as observations
    from histogram
    window w as (partition by service, bucket order by le)
),
quantiles as (
    select
        service,
        bucket,
        q,
        arg_min(
            case
                when isinf(le) then lower_le
                when cumulative = lower_cumulative then le
                else lower_le + (le - lower_le) * (q * observations - lower_cumulative) / (cumulative - lower_cumulative)
            end,
            le
        ) as seconds
    from bounds, (values (0.5), (0.95), (0.99)) as wanted(q)
    where observations > 0 and cumulative >= q * observations
    group by service, bucket, q
)
select
    t.service,
    t.bucket,
    t.requests,
    t.errors,
    case when t.requests > 0 then t.errors / t.requests end as error_ratio,
    1000 * max(q.seconds) filter (where q.q = 0.5) as latency_p50_ms,
    1000 * max(q.seconds) filter (where q.q = 0.95) as latency_p95_ms,
    1000 * max(q.seconds) filter (where q.q = 0.99) as latency_p99_ms
from traffic as t
left join quantiles as q using (service, bucket)
group by t.service, t.bucket, t.requests, t.errors
order by t.service, t.bucket
