-- Increases of the request counters and latency histogram buckets between consecutive samples
-- of each series, as a temp table both traffic marts read.
--
-- Counters are stored raw, so increases are computed here: a sample lower than the one before
-- it in the same series means the counter was reset (process restart), and the increase is
-- then the new value itself — the rule Prometheus' rate()/increase() apply. Increases are exact
-- sums of deltas (no extrapolation), assigned to the time of the later sample; a series' first
-- sample is its baseline. A series is its metric name and label set, whichever file it came
-- from, so the delta across two daily files is kept.
create or replace temp table request_increases as
select
    metric,
    labels['service'] as service,
    labels['code'] as code,
    labels['le'] as le,
    timezone('UTC', ts) as ts_utc,
    case when previous is null then 0 when value < previous then value else value - previous end as increase
from (
    select
        metric,
        labels,
        ts,
        value,
        lag(value) over (partition by metric, labels order by ts) as previous
    from metric_samples
    where metric in ('http_requests_total', 'http_request_duration_seconds_bucket')
)
where labels['service'] is not null
