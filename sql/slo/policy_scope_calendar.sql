-- The budget scope of every slice of slo_policy_running (sql/slo/policy_slice_grid.sql) in a
-- calendar window: its whole period from $period_starts / $period_ends. scope_bad is the period's
-- bad amount up to the slice's end; budget = $error_budget × the weight of the period's data so
-- far (a finished period is judged with its whole budget), or of all its $period_slices for
-- Timeslices (already less the slices an SLO correction wholly covers: opsledger.slo.policy).
with periods as (
    select
        unnest($period_starts::timestamptz[]) as period_start,
        unnest($period_ends::timestamptz[]) as period_end,
        unnest($period_slices::double[]) as period_slices
)
select
    c.*,
    p.period_start as period_key,
    p.period_start as scope_start,
    p.period_end as scope_end,
    sum(c.bad) over (
        partition by c.grp, p.period_start order by c.slice rows between unbounded preceding and current row
    ) as scope_bad,
    $error_budget * case
        when $method = 'Timeslices' then p.period_slices
        else sum(c.weight) over (partition by c.grp, p.period_start)
    end as budget
from slo_policy_running as c
join periods as p on c.slice >= p.period_start and c.slice < p.period_end
order by c.grp, c.slice
