-- The events a funnel looks at, one row each, time as epoch microseconds. <unit> is an allow-listed
-- expression over product_events (e) and <identity_join> the identity mapping it may need (empty
-- without one); <steps> and <exclusions> are lists of conditions built from fixed fragments whose
-- event names and property values are bound parameters (opsledger.funnels.conditions).
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
        epoch_us(e.ts) as t,
        e.event,
        e.properties::varchar as props,
        e.session_id,
        [{steps}] as steps,
        [{exclusions}]::boolean[] as excl,
        case when $breakdown is null then null else json_extract_string(e.properties, $breakdown) end as bd
    from product_events as e
    {identity_join}
    where {unit} is not null
        and ($tenant is null or e.tenant_id = $tenant)
        and ($date_from is null or e.ts >= $date_from)
        and ($date_to is null or e.ts < $date_to)
        and ($all_events or list_contains($event_names, e.event))
)
