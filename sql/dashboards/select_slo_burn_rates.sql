-- One SLO's hourly 1 h / 6 h burn rates and page thresholds within the filters.
select objective, "group", "at", burn_rate_1h, burn_rate_6h, page_threshold_1h, page_threshold_6h
from mart_slo_burn_rates
where name = $name and "at" > $start and "at" <= $end
order by objective, "group", "at"
