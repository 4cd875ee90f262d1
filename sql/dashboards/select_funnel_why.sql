-- For one funnel and drop-off step (PostHog: reached step - 1, not step): per service, how many of
-- those who dropped off there met a backend error or a slow request, against those who converted to
-- the step; most over-represented first.
select service, dropped_error_share, converted_error_share, difference, lift,
    dropped_slow_share, converted_slow_share, dropped_p95_duration_ms, converted_p95_duration_ms
from mart_funnel_why
where funnel = $funnel and dropoff_step = $step
order by difference desc, dropped_slow_share - converted_slow_share desc, service
