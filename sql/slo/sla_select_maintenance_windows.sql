-- Maintenance windows of one service from audit events: each successful maintenance.start paired
-- with the event right after it, when that is a maintenance.end; a start with no end after it
-- (or followed by another start) runs to $month_end. At equal times an end sorts before a start,
-- so back-to-back windows stay two windows. Windows ending before $month_start are dropped.
with marks as (
    select
        ts,
        action,
        lead(action) over w as next_action,
        lead(ts) over w as next_ts
    from audit_events
    where resource = $service
      and action in ('maintenance.start', 'maintenance.end')
      and outcome = 'success'
      and ts < $month_end::timestamptz
    window w as (order by ts, action)
),
windows as (
    select
        ts as "start",
        case when next_action = 'maintenance.end' then next_ts else $month_end::timestamptz end as "end",
        next_action = 'maintenance.end' as closed
    from marks
    where action = 'maintenance.start'
)
select "start", "end", coalesce(closed, false) as closed
from windows
where "end" > $month_start::timestamptz
order by "start"
