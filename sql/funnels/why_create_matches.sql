-- Which log records each person experienced: same user, session or trace, within [t_k, t_k + after].
create or replace temp table why_matches as
with log_ids as (
    select log_id, t, 'user' as kind, user_id as id from why_logs where user_id is not null
    union all
    select log_id, t, 'session', session_id from why_logs where session_id is not null
    union all
    select log_id, t, 'trace', trace_id from why_logs where trace_id is not null
)

select distinct p.person, l.log_id
from why_people as p
join why_ids as i on i.person = p.person
join log_ids as l on l.kind = i.kind and l.id = i.id and l.t between p.t_k and p.t_k + $after_us
