-- The budget scope of every slice of slo_policy_running (sql/slo/policy_slice_grid.sql) in a
-- rolling window: the $window_minutes before the instant the slice ends. scope_bad is the bad
-- amount in it and budget = $error_budget × its weight (for Timeslices all $window_minutes /
-- $slice_minutes slices, less those wholly inside an SLO correction's span of minutes from
-- $correction_starts / $correction_ends: corrected time leaves the window, it is not a good
-- slice). Running sums make each a difference: the ASOF join finds the last slice before the
-- scope (none: nothing before it).
with spans as (
    select
        unnest($correction_starts::timestamptz[]) as span_start,
        unnest($correction_ends::timestamptz[]) as span_end
),
-- Grid slices whole inside [greatest(scope start, span start), least(scope end, span end)),
-- counted from the slice itself, which lies on the grid: floor(hi / s) − ceil(lo / s).
corrected as (
    select
        c.grp,
        c.slice,
        sum(greatest(0,
            floor((epoch(least(c.instant, s.span_end)) - epoch(c.slice)) / ($slice_minutes * 60))
            - ceil(
                (epoch(greatest(c.instant - to_minutes($window_minutes::integer), s.span_start)) - epoch(c.slice))
                / ($slice_minutes * 60)
            )
        )) as slices
    from slo_policy_running as c
    join spans as s
        on s.span_start < c.instant and s.span_end > c.instant - to_minutes($window_minutes::integer)
    where $method = 'Timeslices'
    group by c.grp, c.slice
)
select
    c.*,
    timestamptz '1970-01-01 00:00:00+00' as period_key,
    c.instant - to_minutes($window_minutes::integer) as scope_start,
    c.instant as scope_end,
    c.cum_bad - coalesce(b.cum_bad, 0) as scope_bad,
    $error_budget * case
        when $method = 'Timeslices' then $window_minutes / $slice_minutes - coalesce(k.slices, 0)
        else c.cum_weight - coalesce(b.cum_weight, 0)
    end as budget
from slo_policy_running as c
asof left join slo_policy_running as b
    on b.grp = c.grp and b.slice < c.instant - to_minutes($window_minutes::integer)
left join corrected as k on k.grp = c.grp and k.slice = c.slice
order by c.grp, c.slice
