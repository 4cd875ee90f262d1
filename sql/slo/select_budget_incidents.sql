-- Incidents over $incident_share of the budget, from slo_policy_grid
-- (a slice grid with budget scopes: sql/slo/policy_slice_grid.sql, sql/slo/policy_scope_*.sql).
--
-- An incident is a downtime-like run of `below` slices (slices whose SLI is under the objective:
-- more failures than the budget rate allows, or a bad time slice), where runs separated by fewer
-- than $gap_minutes good or empty minutes are merged (a flapping outage is one incident). Its bad
-- amount is everything bad in [start, end), merged gaps included. Its budget is its period's:
-- calendar, the period it started in; rolling, the window ending when it ended — or, while the
-- data is younger than one window, the first whole window (or all the data), so an incident in
-- the first hours is not judged against the handful of events before it. It is an event when
-- bad > $incident_share × budget.
with below as (
    select grp, slice, lag(slice) over (partition by grp order by slice) as previous
    from slo_policy_grid
    where below
),
numbered as (
    select
        grp,
        slice,
        sum(case
            when previous is null
                or slice - previous >= to_minutes(($slice_minutes + $gap_minutes)::integer) then 1
            else 0
        end) over (partition by grp order by slice rows between unbounded preceding and current row) as incident
    from below
),
incidents as (
    select grp, incident, min(slice) as first, max(slice) as last
    from numbered
    group by grp, incident
),
bounds as (
    select grp, min(slice) as first_slice, max(slice) as last_slice
    from slo_policy_grid
    group by grp
),
measured as (
    select
        i.grp,
        i.first as "start",
        l.instant as "end",
        l.cum_bad - f.cum_bad + f.bad as bad,
        case when $rolling then p.scope_start else f.scope_start end as period_start,
        case when $rolling then p.scope_end else f.scope_end end as period_end,
        case when $rolling then p.budget else f.budget end as budget
    from incidents as i
    join bounds as b on b.grp = i.grp
    join slo_policy_grid as f on f.grp = i.grp and f.slice = i.first
    join slo_policy_grid as l on l.grp = i.grp and l.slice = i.last
    left join slo_policy_grid as p on p.grp = i.grp and p.slice = least(
        greatest(i.last, b.first_slice + to_minutes(($window_minutes - $slice_minutes)::integer)), b.last_slice
    )
)
select
    grp as "group",
    'incident_over_20pct' as event,
    "start",
    "end",
    period_start,
    period_end,
    bad,
    budget,
    bad / budget as budget_share,
    date_diff('minute', "start", "end") as minutes
from measured
where budget > 0 and bad > $incident_share * budget and "end" > $start::timestamptz
order by grp, "start"
