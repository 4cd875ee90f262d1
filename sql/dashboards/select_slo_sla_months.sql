-- Every SLA by month with its credit, newest month first.
select name, slo, month, uptime, target, downtime_minutes, excluded_minutes, met, credit_percent
from mart_sla_months
order by month desc, name
