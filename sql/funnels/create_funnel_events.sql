-- The events a funnel looks at (select_funnel_event_rows) with pos, which orders a unit's events:
-- time, then the first step an event matches (two different steps at one instant are taken in
-- step order), then content, so ties never depend on storage order.
create or replace temp table funnel_events as
select
    unit,
    t,
    row_number() over (
        partition by unit
        order by t, coalesce(list_position(steps, true), 1000), event, properties::varchar, session_id
    ) as pos,
    steps,
    excl,
    bd
from ({rows})
