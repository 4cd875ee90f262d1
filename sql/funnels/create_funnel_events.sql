-- The events a funnel looks at (select_funnel_event_rows) with pos, which orders a unit's events:
-- time, then the same-instant order (opsledger.funnels.conditions.SAME_INSTANT: the first step an
-- event matches, then content), so ties never depend on storage order.
create or replace temp table funnel_events as
select
    unit,
    t,
    row_number() over (
        partition by unit
        order by t, {same_instant}
    ) as pos,
    steps,
    excl,
    bd
from ({rows})
