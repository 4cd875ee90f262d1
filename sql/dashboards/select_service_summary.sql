-- One row per service for [$start, $end): traffic, error ratio and the peak daily p95.
-- A range's exact p95 needs the histogram buckets, which the mart has already folded into
-- per-day quantiles; the highest daily p95 is the honest bound from them (averaging quantiles
-- is not a quantile).
select
    service,
    sum(requests) as requests,
    sum(errors) as errors,
    case when sum(requests) > 0 then sum(errors) / sum(requests) end as error_ratio,
    max(latency_p95_ms) as peak_p95_ms
from mart_service_daily
where bucket >= $start and bucket < $end and list_contains($services, service)
group by service
order by requests desc, service
