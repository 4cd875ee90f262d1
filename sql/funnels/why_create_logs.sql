-- The log records that can fall in anyone's window, numbered so a record matched through several
-- ids (user, session and trace) counts once. Materialized: the numbering must not be re-evaluated.
create or replace temp table why_logs as
select
    row_number() over (order by ts, service) as log_id,
    epoch_us(ts) as t,
    service,
    http_status >= 500 or lower(level) in ('error', 'fatal', 'critical') as is_error,
    duration_ms,
    coalesce(duration_ms >= $slow_ms, false) as is_slow,
    user_id,
    coalesce(attributes ->> '$.labels.session_id', attributes ->> '$.session_id') as session_id,
    trace_id
from log_records
where ts between (select make_timestamptz(min(t_k)) from why_people)
    and (select make_timestamptz(max(t_k) + $after_us) from why_people)
