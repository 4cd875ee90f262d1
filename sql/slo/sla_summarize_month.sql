-- Minute counts of one SLA month from sla_minutes (sql/slo/sla_flag_minutes.sql): downtime inside
-- a maintenance window does not count.
select
    count(*) as minutes,
    count(*) filter (where excluded) as excluded_minutes,
    count(*) filter (where bad and not excluded) as downtime_minutes
from sla_minutes
