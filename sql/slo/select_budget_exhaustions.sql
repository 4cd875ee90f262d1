-- Budget exhausted: runs of slices at whose end the scope's remaining budget, 1 − scope_bad /
-- budget, is ≤ 0 (within 1e-9, the status' VIOLATED rule), from slo_policy_grid (a slice grid
-- with budget scopes, sql/slo/policy_scope_*.sql). "start" is the slice whose events used the
-- budget up; "end" the first slice with budget left again — in a rolling window, once bad slices
-- leave it or good traffic dilutes them — or the end of a calendar period; null while still
-- exhausted at $end.
with flagged as (
    select
        *,
        budget > 0 and scope_bad >= budget * (1 - 1e-9) as exhausted,
        max(slice) over (partition by grp) as last_slice
    from slo_policy_grid
),
runs as (
    select
        *,
        row_number() over (partition by grp, period_key order by slice)
            - row_number() over (partition by grp, period_key, exhausted order by slice) as run
    from flagged
),
events as (
    select
        grp,
        period_key,
        run,
        min(slice) as "start",
        max(slice) as last,
        max(last_slice) as last_slice,
        max(instant) as last_instant,
        arg_min(scope_start, slice) as period_start,
        arg_min(scope_end, slice) as period_end,
        arg_min(scope_bad, slice) as bad,
        arg_min(budget, slice) as budget
    from runs
    where exhausted
    group by grp, period_key, run
)
select
    grp as "group",
    'budget_exhausted' as event,
    "start",
    case when last = last_slice then null else last_instant end as "end",
    period_start,
    period_end,
    bad,
    budget,
    bad / budget as budget_share,
    case when last = last_slice then null else date_diff('minute', "start", last_instant) end as minutes
from events
where last_instant > $start::timestamptz
order by grp, "start"
