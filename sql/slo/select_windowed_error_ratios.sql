-- Error ratios over the burn-rate windows (5m … 3d) and the SLO period at every instant $start,
-- $start + $step, … ≤ $end, per group, from the per-minute facts in slo_step_facts: what Sloth's
-- recording rules hold at each evaluation, but exact and event-weighted (Σbad / Σtotal over the
-- complete minutes [instant − window, instant), as sql/slo/evaluate_windows.sql computes one instant).
--
-- Every window is a whole number of steps and the instants are $step apart, so the facts are summed
-- once into step-long buckets ending at the instants, a running sum goes over a dense bucket grid per
-- group, and a window is the difference of two running sums $lags[i] buckets apart. The cost is the
-- facts plus instants × windows, not instants × window length. Integer event counts stay exact in
-- the running sums (doubles up to 2^53). A window without events has no ratio; a period without
-- events is NO data and its budget is untouched, as in a status.
with buckets as (
    select
        grp,
        time_bucket($step::interval, minute, $grid_start::timestamptz) + $step::interval as instant,
        sum(total - good) as bad,
        sum(total) as total
    from slo_step_facts
    where minute >= $grid_start::timestamptz and minute < $end::timestamptz
    group by all
),
grid as (
    select g.grp, i.instant
    from (select distinct grp from slo_step_facts) as g
    -- From $grid_start itself, whose running sum is 0: the start of the longest window at $start.
    cross join generate_series($grid_start::timestamptz, $end::timestamptz, $step::interval) as i(instant)
),
running as (
    select
        grid.grp,
        grid.instant,
        sum(coalesce(b.bad, 0)) over w as bad,
        sum(coalesce(b.total, 0)) over w as total
    from grid
    left join buckets as b on b.grp = grid.grp and b.instant = grid.instant
    window w as (partition by grid.grp order by grid.instant rows between unbounded preceding and current row)
),
windowed as (
    select
        grp,
        instant,
        total - lag(total, $lags[8]) over w as period_total,
        bad - lag(bad, $lags[8]) over w as period_bad,
        (bad - lag(bad, $lags[1]) over w) / nullif(total - lag(total, $lags[1]) over w, 0) as error_ratio_5m,
        (bad - lag(bad, $lags[2]) over w) / nullif(total - lag(total, $lags[2]) over w, 0) as error_ratio_30m,
        (bad - lag(bad, $lags[3]) over w) / nullif(total - lag(total, $lags[3]) over w, 0) as error_ratio_1h,
        (bad - lag(bad, $lags[4]) over w) / nullif(total - lag(total, $lags[4]) over w, 0) as error_ratio_2h,
        (bad - lag(bad, $lags[5]) over w) / nullif(total - lag(total, $lags[5]) over w, 0) as error_ratio_6h,
        (bad - lag(bad, $lags[6]) over w) / nullif(total - lag(total, $lags[6]) over w, 0) as error_ratio_1d,
        (bad - lag(bad, $lags[7]) over w) / nullif(total - lag(total, $lags[7]) over w, 0) as error_ratio_3d
    from running
    window w as (partition by grp order by instant)
    qualify instant >= $start::timestamptz
)
select
    instant as "at",
    grp as "group",
    period_total - period_bad as good,
    period_total as total,
    (period_total - period_bad) / nullif(period_total, 0) as sli,
    1 - coalesce(1 - (period_total - period_bad) / nullif(period_total, 0), 0) / $error_budget
        as error_budget_remaining,
    error_ratio_5m,
    error_ratio_30m,
    error_ratio_1h,
    error_ratio_2h,
    error_ratio_6h,
    error_ratio_1d,
    error_ratio_3d,
    error_ratio_5m / $error_budget as burn_rate_5m,
    error_ratio_30m / $error_budget as burn_rate_30m,
    error_ratio_1h / $error_budget as burn_rate_1h,
    error_ratio_2h / $error_budget as burn_rate_2h,
    error_ratio_6h / $error_budget as burn_rate_6h,
    error_ratio_1d / $error_budget as burn_rate_1d,
    error_ratio_3d / $error_budget as burn_rate_3d
from windowed
order by grp, instant
