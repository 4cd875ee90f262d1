-- Headline traffic for [$start, $end) and the chosen $services, from the daily mart (the sidebar
-- selects whole UTC days, so daily buckets cover the range exactly).
select
    coalesce(sum(requests), 0) as requests,
    coalesce(sum(errors), 0) as errors,
    case when sum(requests) > 0 then sum(errors) / sum(requests) end as error_ratio
from mart_service_daily
where bucket >= $start and bucket < $end and list_contains($services, service)
