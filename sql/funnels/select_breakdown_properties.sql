-- The properties worth offering as a breakdown when a funnel names none: top-level keys of the
-- step-1 events with 2 to $max_values distinct values (a key with one value splits nothing; one
-- with hundreds, like a session or trace id, is an identifier, not a segment), most common first.
with pairs as (
    select j.key, j.value::varchar as value
    from product_events as e, json_each(e.properties) as j
    where e.event = $event and ($tenant is null or e.tenant_id = $tenant) and j.type not in ('OBJECT', 'ARRAY')
)

select key
from pairs
group by key
having count(distinct value) between 2 and $max_values
order by count(*) desc, key
limit $max_keys
