-- Ordered: the earliest step-$k event at or after the previous step (strictly after when the step's
-- event already appears earlier in the funnel, so one event never satisfies two steps). Taking the
-- earliest is optimal: any later choice can only reach fewer steps inside the window.
-- Only live attempts are joined: one that missed a step, or found it past the window (measured from
-- step 1, inclusive), can go no further, so it is carried over as it is. levels then holds exactly
-- the steps reached.
create or replace temp table funnel_chain as
select
    unit,
    attempt,
    first_t,
    coalesce(found_t, last_t) as last_t,
    case when found_t is null then levels else list_append(levels, found_t) end as levels,
    case when found_t is null then bds else list_append(bds, found_bd) end as bds,
    found_t is not null as alive
from (
    select c.*, case when s.t - c.first_t <= $window_us then s.t end as found_t, s.bd as found_bd
    from (select * from funnel_chain where alive) as c
    asof left join (select unit, t, bd from funnel_events where steps[$k]) as s
        on c.unit = s.unit and c.last_t + $gap_us <= s.t
)
union all
select * from funnel_chain where not alive
