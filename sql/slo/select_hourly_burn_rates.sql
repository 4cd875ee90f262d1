-- Burn rates over the last 1 h and 6 h at the end of every UTC hour of one SLO objective, from the
-- per-minute facts in slo_burn_facts. Hour buckets line up with the instants, so summing whole
-- buckets is exact and event-weighted (Σbad / Σtotal), like the status' burn_rate_1h / _6h. An hour
-- without events has no 1 h burn rate (missing data burns no budget).
with hourly as (
    select
        grp,
        time_bucket(interval 1 hour, minute) as bucket,
        sum(total - good) as bad,
        sum(total) as total
    from slo_burn_facts
    group by all
),
rolled as (
    select
        grp,
        bucket,
        bad,
        total,
        sum(bad) over six_hours as bad_6h,
        sum(total) over six_hours as total_6h
    from hourly
    window six_hours as (partition by grp order by bucket range between interval 5 hour preceding and current row)
)
select
    grp as "group",
    bucket + interval 1 hour as "at",
    bad / nullif(total, 0) / $error_budget as burn_rate_1h,
    bad_6h / nullif(total_6h, 0) / $error_budget as burn_rate_6h
from rolled
where bucket >= $start and bucket < $end
order by grp, "at"
