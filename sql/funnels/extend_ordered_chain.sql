-- Ordered: the earliest step-$k event at or after the previous step (strictly after when the step's
-- event already appears earlier in the funnel, so one event never satisfies two steps). Taking the
-- earliest is optimal: any later choice can only reach fewer steps inside the window.
create or replace temp table funnel_chain as
select
    c.unit,
    c.attempt,
    s.pos as last_pos,
    s.t as last_t,
    list_append(c.levels, s.t) as levels,
    list_append(c.bds, s.bd) as bds
from funnel_chain as c
asof left join (select unit, t, pos, bd from funnel_events where steps[$k]) as s
    on c.unit = s.unit and c.last_t + $gap_us <= s.t
