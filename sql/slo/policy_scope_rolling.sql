-- The budget scope of every slice of slo_policy_running (sql/slo/policy_slice_grid.sql) in a
-- rolling window: the $window_minutes before the instant the slice ends. scope_bad is the bad
-- amount in it and budget = $error_budget × its weight (all $window_minutes / $slice_minutes
-- slices for Timeslices). Running sums make each a difference: the ASOF join finds the last slice
-- before the scope (none: nothing before it).
select
    c.*,
    timestamptz '1970-01-01 00:00:00+00' as period_key,
    c.instant - to_minutes($window_minutes::integer) as scope_start,
    c.instant as scope_end,
    c.cum_bad - coalesce(b.cum_bad, 0) as scope_bad,
    $error_budget * case
        when $method = 'Timeslices' then $window_minutes / $slice_minutes
        else c.cum_weight - coalesce(b.cum_weight, 0)
    end as budget
from slo_policy_running as c
asof left join slo_policy_running as b
    on b.grp = c.grp and b.slice < c.instant - to_minutes($window_minutes::integer)
order by c.grp, c.slice
