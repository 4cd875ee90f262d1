-- One SLO's daily state (budget burn-down) for the days in the filters.
select "date", objective, "group", time_window, sli, error_budget_remaining, burn_rate_1d, status
from mart_slo_history
where name = $name and "date" >= cast($start as date) and "date" < cast($end as date)
order by objective, "group", "date"
