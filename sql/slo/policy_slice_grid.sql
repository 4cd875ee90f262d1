-- The slice grid error-budget policy events are found on (opsledger.slo.policy), per SLO group.
--
-- A slice is $slice_minutes long (1 minute for Occurrences; the spec's timeSliceWindow otherwise)
-- and aligned on the UTC epoch. Each slice has bad and weight amounts, so that Σbad / Σweight over
-- a window is its error ratio for the budgeting method: Occurrences bad = failed events, weight =
-- events; Timeslices bad = 1 for a slice whose good ratio is below $slice_target, and the weight
-- of a window is all its slices ($scope_slices: a slice without traffic is good, as in
-- sql/slo/evaluate_windows.sql, while a slice an SLO correction wholly covers leaves it:
-- sql/slo/policy_scope_*.sql); RatioTimeslices bad = 1 − the slice's ratio, weight 1 per slice
-- with traffic. `below` marks a slice whose SLI is under the objective: an incident slice.
-- cum_bad and cum_weight are running sums per group (sql/slo/policy_scope_*.sql turn them into
-- the amounts of each slice's budget scope).
with units as (
    select
        grp,
        time_bucket(to_minutes($slice_minutes::integer), minute) as slice,
        sum(good) as good,
        sum(total) as total
    from slo_policy_facts
    where total > 0
    group by all
),
weighted as (
    select
        grp,
        slice,
        case $method
            when 'Occurrences' then total - good
            when 'Timeslices' then case when good / total < $slice_target then 1.0 else 0.0 end
            else 1 - good / total
        end as bad,
        case when $method = 'Occurrences' then total else 1.0 end as weight,
        case
            when $method = 'Timeslices' then good / total < $slice_target
            else good / total < $target - 1e-9
        end as below
    from units
),
grid as (
    select grp, unnest(generate_series(
        min(slice), $end::timestamptz - to_minutes($slice_minutes::integer), to_minutes($slice_minutes::integer)
    )) as slice
    from weighted
    group by grp
),
running as (
    select
        g.grp,
        g.slice,
        g.slice + to_minutes($slice_minutes::integer) as instant,
        coalesce(w.bad, 0) as bad,
        coalesce(w.weight, 0) as weight,
        coalesce(w.below, false) as below,
        sum(coalesce(w.bad, 0)) over run as cum_bad,
        sum(coalesce(w.weight, 0)) over run as cum_weight
    from grid as g
    left join weighted as w on w.grp = g.grp and w.slice = g.slice
    window run as (partition by g.grp order by g.slice rows between unbounded preceding and current row)
)
select * from running order by grp, slice
