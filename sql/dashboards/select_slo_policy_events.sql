-- One SLO's error-budget policy events (budget exhausted, incidents over 20 % of the budget) that
-- overlap the filters; an exhaustion still running has no end.
select objective, "group", event, "start", "end", bad, budget, budget_share, minutes
from mart_slo_policy_events
where name = $name and "start" < $end and ("end" is null or "end" > $start)
order by "start", event
