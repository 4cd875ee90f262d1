-- The ids the step-k event carries (the person, its session, its request's trace), one row each,
-- so logs are found by one equi-join on (kind, id) rather than an OR join. {unit} is the funnel's
-- allow-listed unit column; the event is found again by unit, name and exact time.
create or replace temp table why_ids as
with step_events as (
    select
        p.person,
        e.distinct_id,
        coalesce(e.session_id, e.properties ->> '$."$session_id"') as session_id,
        e.properties ->> '$.trace_id' as trace_id
    from why_people as p
    join product_events as e
        on e.{unit} = p.unit and epoch_us(e.ts) = p.t_k and e.event = $event
)

select distinct person, kind, id
from (
    select person, 'user' as kind, distinct_id as id from step_events
    union all
    select person, 'session', session_id from step_events
    union all
    select person, 'trace', trace_id from step_events
)
where id is not null
