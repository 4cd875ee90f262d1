-- Ordered funnels (opsledger.funnels.ordered): the events a funnel looks at
-- (select_funnel_event_rows) sorted by unit, then time. The caller sorts units by unit_hash
-- first (whole numbers sort far faster than text, and only the grouping matters, not the order
-- of units); when two units' hashes collide it asks again, sorted by the unit itself. step_bits
-- and exclusion_bits hold the step and exclusion matches, bit i-1 for step i; their expressions
-- are made from the step count alone. period is the step-1 period for trends, in epoch us.
select
    unit,
    t,
    {step_bits} as step_bits,
    {exclusion_bits} as exclusion_bits,
    bd,
    case when $grain is null then null else epoch_us(date_trunc($grain, make_timestamp(t))) end as period,
    {unit_hash} as unit_hash
from ({rows})
order by {unit_order}, t
