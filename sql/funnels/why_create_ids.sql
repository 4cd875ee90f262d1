-- The ids the step event carries (the person, its session, its request's trace), one row each, so
-- logs are found by one equi-join on (kind, id) rather than an OR join. <unit> and <identity_join>
-- are the funnel's allow-listed unit expression over product_events (e) and its identity mapping
-- (opsledger.funnels.conditions.unit_sql); the event is found again by unit, name and exact time.
-- <person_ids> adds, with an identity mapping, every distinct_id of the person as a user id: the
-- backend logs the signed-in id while the step may have been done anonymously.
create or replace temp table why_ids as
with events as (
    select
        {unit} as unit,
        epoch_us(e.ts) as t,
        e.distinct_id,
        coalesce(e.session_id, e.properties ->> '$."$session_id"') as session_id,
        e.properties ->> '$.trace_id' as trace_id
    from product_events as e
    {identity_join}
    where e.event = $event
),

step_events as (
    select p.person, v.distinct_id, v.session_id, v.trace_id
    from why_people as p
    join events as v on v.unit = p.unit and v.t = p.t_k
)

select distinct person, kind, id
from (
    select person, 'user' as kind, distinct_id as id from step_events
    union all
    select person, 'session', session_id from step_events
    union all
    select person, 'trace', trace_id from step_events
    {person_ids}
)
where id is not null
