-- The events a funnel looks at, one row each, time as epoch microseconds. {unit} is an allow-listed
-- column; {steps} and {exclusions} are lists of conditions built from fixed fragments whose event
-- names and property values are bound parameters (opsledger.funnels.conditions).
-- pos orders a unit's events: time, then the first step an event matches (two different steps at
-- one instant are taken in step order), then content, so ties never depend on storage order.
create or replace temp table funnel_events as
select
    unit,
    t,
    row_number() over (
        partition by unit order by t, coalesce(list_position(steps, true), 1000), event, props, session_id
    ) as pos,
    steps,
    excl,
    bd
from (
    select
        {unit} as unit,
        epoch_us(ts) as t,
        event,
        properties::varchar as props,
        session_id,
        [{steps}] as steps,
        [{exclusions}]::boolean[] as excl,
        case when $breakdown is null then null else json_extract_string(properties, $breakdown) end as bd
    from product_events
    where {unit} is not null
        and ($tenant is null or tenant_id = $tenant)
        and ($date_from is null or ts >= $date_from)
        and ($date_to is null or ts < $date_to)
        and ($all_events or list_contains($event_names, event))
)
