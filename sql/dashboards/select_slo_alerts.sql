-- One SLO's replayed alert intervals that overlap the filters.
select objective, "group", severity, "start", "end",
    date_diff('minute', "start", "end") as minutes
from mart_slo_alerts
where name = $name and "start" < $end and "end" > $start
order by "start", severity
