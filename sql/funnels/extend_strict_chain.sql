-- Strict: step $k must be the unit's very next event; anything else in between breaks the chain.
create or replace temp table funnel_chain as
select
    c.unit,
    c.attempt,
    s.pos as last_pos,
    s.t as last_t,
    list_append(c.levels, s.t) as levels,
    list_append(c.bds, s.bd) as bds
from funnel_chain as c
left join funnel_events as s
    on s.unit = c.unit and s.pos = c.last_pos + 1 and s.steps[$k] and s.t >= c.last_t + $gap_us
