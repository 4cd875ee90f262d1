-- The events a funnel looks at, one row each, time as epoch microseconds (shared by
-- create_funnel_events and select_ordered_events). <unit> is an allow-listed expression over
-- product_events (e) and <identity_join> the identity mapping it may need (empty without one);
-- <steps> and <exclusions> are lists of conditions built from fixed fragments whose event names
-- and property values are bound parameters (opsledger.funnels.conditions). A strict funnel
-- ($all_events) sees every event; the others only events of a step or an exclusion (a semi-join,
-- not list_contains: DuckDB then filters while scanning).
select
    {unit} as unit,
    epoch_us(e.ts) as t,
    e.event,
    e.properties,
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
    and ($all_events or e.event in (select unnest($event_names)))
