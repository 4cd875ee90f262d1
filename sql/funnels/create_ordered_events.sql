-- The events an ordered funnel looks at (select_funnel_event_rows), without the per-unit position:
-- an ordered chain looks steps up by time alone, so it needs no total order of a unit's events,
-- and skipping that sort (and the JSON text it ordered by) is most of what selecting costs.
create or replace temp table funnel_events as
select unit, t, steps, excl, bd
from ({rows})
