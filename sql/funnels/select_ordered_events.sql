-- Ordered funnels (opsledger.funnels.ordered): the events a funnel looks at
-- (select_funnel_event_rows) sorted by unit, then time. The caller sorts units by unit_hash
-- first (whole numbers sort far faster than text, and only the grouping matters, not the order
-- of units); when two units' hashes collide it asks again, sorted by the unit itself. step_bits
-- holds the step matches, bit i-1 for step i; the optional columns (exclusion_bits, likewise;
-- bd, the breakdown value; period, the step-1 period for trends in epoch us) come only when the
-- funnel uses them. Their text is made from fixed fragments and the step count alone. An event
-- without a time cannot be placed in a funnel (ingest never stores one; the lake could hold one
-- written by other tools). With a breakdown, the last sort key orders a unit's events at one
-- instant by their breakdown value, as create_funnel_events does among the events of one step
-- (SAME_INSTANT in opsledger.funnels.conditions): which of them is step 1 (or the last step)
-- decides the value attributed, so it must not depend on storage order. Without a breakdown,
-- ties change nothing.
select
    unit,
    t,
    {step_bits} as step_bits,
    {unit_hash} as unit_hash
    {optional_columns}
from ({rows})
where t is not null
order by {unit_order}, t{ties}
