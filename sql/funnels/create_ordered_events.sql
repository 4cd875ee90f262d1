-- The events an ordered funnel looks at: the same selection as create_funnel_events (the same
-- generated <unit>, <identity_join>, <steps> and <exclusions> from opsledger.funnels.conditions),
-- without the per-unit position. An ordered chain looks steps up by time alone, so it needs no
-- total order of a unit's events, and skipping that sort (and the JSON text it ordered by) is most
-- of what selecting the events costs. Only events of a step or an exclusion are kept.
create or replace temp table funnel_events as
select
    {unit} as unit,
    epoch_us(e.ts) as t,
    [{steps}] as steps,
    [{exclusions}]::boolean[] as excl,
    case when $breakdown is null then null else json_extract_string(e.properties, $breakdown) end as bd
from product_events as e
{identity_join}
where {unit} is not null
    and ($tenant is null or e.tenant_id = $tenant)
    and ($date_from is null or e.ts >= $date_from)
    and ($date_to is null or e.ts < $date_to)
    -- a semi-join, not list_contains: DuckDB then filters while scanning
    and e.event in (select unnest($event_names))
