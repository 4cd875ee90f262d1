-- For one funnel and step: per service, how many of those who dropped after the step met a
-- backend error or a slow request, against those who converted; most over-represented first.
select service, dropped_error_share, converted_error_share, difference, lift,
    dropped_slow_share, converted_slow_share, dropped_p95_duration_ms, converted_p95_duration_ms
from mart_funnel_why
where funnel = $funnel and step = $step
order by difference desc, dropped_slow_share - converted_slow_share desc, service
