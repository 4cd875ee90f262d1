-- Downtime periods of one SLA month: runs of consecutive downtime minutes (bad, not excluded) as
-- [start, end) with their length; a single bad minute is a period of 1 minute.
with down as (
    select minute, minute - to_minutes(row_number() over (order by minute)) as island
    from sla_minutes
    where bad and not excluded
)
select min(minute) as "start", max(minute) + interval 1 minute as "end", count(*) as minutes
from down
group by island
order by "start"
