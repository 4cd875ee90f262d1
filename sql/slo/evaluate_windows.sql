-- SLI, error budget, burn rates and status of one SLO objective per group at each evaluation
-- instant in $ats (one for a status, one per day for a history), from the facts in slo_eval_facts.
--
-- Every instant has its window [window_start, instant) over the facts; burn rates look back
-- 5m … 3d from the instant whatever the SLO window. All windows are event-weighted and exact
-- (Σbad / Σtotal), never averages of shorter ratios. Timeslices follow Kibana: a slice is bad
-- only when it had traffic and its good ratio is below $slice_target, so a slice without traffic
-- is good, and the SLI is 1 − bad slices / all slices of the whole period ($period_slices, less
-- the slices an SLO correction wholly excludes: opsledger.slo.corrections). RatioTimeslices is the
-- mean of the ratios of the slices that had traffic (an empty slice has no ratio; it neither helps
-- nor hurts). For calendar windows, Occurrences and RatioTimeslices estimate the budget of the
-- whole period from the elapsed part (Kibana's estimate: consumed = e × elapsed / period / (1 − T)),
-- while Timeslices' budget is already counted in the period's slices. Budget is never clamped.
-- A window with no events is NO_DATA and burns nothing. SLI ≥ target is HEALTHY, within 1e-9, so a
-- target written as 99.9 % (0.9990000000000001 as a float) is met by 999 of 1000.
with instants as (
    select
        unnest($ats::timestamptz[]) as instant,
        unnest($window_starts::timestamptz[]) as window_start,
        unnest($period_slices::double[]) as period_slices,
        unnest($elapsed::double[]) as elapsed_fraction,
        unnest($period_hours::double[]) as period_hours
),
-- Window starts once per instant: timestamptz − interval is calendar arithmetic in the session's
-- time zone, far too slow to repeat on every fact row (it was most of a 1,000-SLO status).
evals as (
    select
        *,
        least(window_start, instant - interval 3 day) as lookback_start,
        instant - interval 5 minute as start_5m,
        instant - interval 30 minute as start_30m,
        instant - interval 1 hour as start_1h,
        instant - interval 2 hour as start_2h,
        instant - interval 6 hour as start_6h,
        instant - interval 1 day as start_1d,
        instant - interval 3 day as start_3d
    from instants
),
groups as (
    select distinct grp from slo_eval_facts
    union all
    select '' where not exists (select 1 from slo_eval_facts)
),
scoped as (
    select
        e.instant,
        e.window_start,
        f.grp,
        f.minute,
        f.good,
        f.total,
        f.total - f.good as bad,
        f.minute >= e.window_start as in_window,
        -- The shortest burn-rate window holding the minute (the windows nest), 7 for none.
        case
            when f.minute >= e.start_5m then 0
            when f.minute >= e.start_30m then 1
            when f.minute >= e.start_1h then 2
            when f.minute >= e.start_2h then 3
            when f.minute >= e.start_6h then 4
            when f.minute >= e.start_1d then 5
            when f.minute >= e.start_3d then 6
            else 7
        end as ring
    from evals as e
    join slo_eval_facts as f
        on f.minute < e.instant and f.minute >= e.lookback_start
),
-- Plain sums per ring first: one cheap pass over the facts instead of sixteen filtered sums.
ringed as (
    select instant, grp, in_window, ring, sum(good) as good, sum(total) as total, sum(bad) as bad
    from scoped
    group by all
),
windowed as (
    select
        instant,
        grp,
        sum(good) filter (where in_window) as good,
        sum(total) filter (where in_window) as total,
        sum(bad) filter (where ring <= 0) / nullif(sum(total) filter (where ring <= 0), 0) as error_ratio_5m,
        sum(bad) filter (where ring <= 1) / nullif(sum(total) filter (where ring <= 1), 0) as error_ratio_30m,
        sum(bad) filter (where ring <= 2) / nullif(sum(total) filter (where ring <= 2), 0) as error_ratio_1h,
        sum(bad) filter (where ring <= 3) / nullif(sum(total) filter (where ring <= 3), 0) as error_ratio_2h,
        sum(bad) filter (where ring <= 4) / nullif(sum(total) filter (where ring <= 4), 0) as error_ratio_6h,
        sum(bad) filter (where ring <= 5) / nullif(sum(total) filter (where ring <= 5), 0) as error_ratio_1d,
        sum(bad) filter (where ring <= 6) / nullif(sum(total) filter (where ring <= 6), 0) as error_ratio_3d
    from ringed
    group by instant, grp
),
slices as (
    select instant, grp, floor(epoch(minute - window_start) / $slice_seconds) as slice, sum(good) as good, sum(total) as total
    from scoped
    -- Occurrences without a slice target never reads the slices (bad_slices is then 0).
    where in_window and ($method = 'RatioTimeslices' or $slice_target is not null)
    group by all
),
sliced as (
    select
        instant,
        grp,
        count(*) filter (where total > 0 and good / total < $slice_target) as bad_slices,
        avg(good / total) filter (where total > 0) as mean_ratio
    from slices
    group by instant, grp
),
measured as (
    select
        e.instant,
        e.window_start,
        e.period_slices,
        e.elapsed_fraction,
        e.period_hours,
        g.grp,
        coalesce(w.good, 0) as good,
        coalesce(w.total, 0) as total,
        coalesce(s.bad_slices, 0) as bad_slices,
        case when coalesce(w.total, 0) > 0 then
            case $method
                when 'Occurrences' then w.good / w.total
                when 'Timeslices' then 1 - coalesce(s.bad_slices, 0) / nullif(e.period_slices, 0)
                when 'RatioTimeslices' then s.mean_ratio
            end
        end as sli,
        w.error_ratio_5m,
        w.error_ratio_30m,
        w.error_ratio_1h,
        w.error_ratio_2h,
        w.error_ratio_6h,
        w.error_ratio_1d,
        w.error_ratio_3d
    from evals as e
    cross join groups as g
    left join windowed as w on w.instant = e.instant and w.grp = g.grp
    left join sliced as s on s.instant = e.instant and s.grp = g.grp
),
budgeted as (
    select
        *,
        case
            when sli is null then 0
            when $method = 'Timeslices' or not $calendar then (1 - sli) / $error_budget
            else (1 - sli) * elapsed_fraction / $error_budget
        end as consumed
    from measured
)
select
    instant as "at",
    window_start,
    grp as "group",
    $target as target,
    sli,
    good,
    total,
    bad_slices,
    period_slices,
    $error_budget as error_budget,
    consumed as error_budget_consumed,
    1 - consumed as error_budget_remaining,
    (1 - sli) / $error_budget as burn_rate,
    error_ratio_5m / $error_budget as burn_rate_5m,
    error_ratio_30m / $error_budget as burn_rate_30m,
    error_ratio_1h / $error_budget as burn_rate_1h,
    error_ratio_2h / $error_budget as burn_rate_2h,
    error_ratio_6h / $error_budget as burn_rate_6h,
    error_ratio_1d / $error_budget as burn_rate_1d,
    error_ratio_3d / $error_budget as burn_rate_3d,
    period_hours / nullif((1 - sli) / $error_budget, 0) as time_to_exhaustion_hours,
    case
        when sli is null then 'NO_DATA'
        when sli >= $target - 1e-9 then 'HEALTHY'
        when 1 - consumed <= 1e-9 then 'VIOLATED'
        else 'DEGRADING'
    end as status
from budgeted
order by instant, grp
