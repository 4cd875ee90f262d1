-- Every SLO objective and group at the newest data, least error budget left first.
select name, objective, "group", service, time_window, budgeting_method, "at", target, sli,
    error_budget_remaining, burn_rate_1h, burn_rate_6h, time_to_exhaustion_hours, status
from mart_slo_status
order by error_budget_remaining nulls last, name, objective, "group"
