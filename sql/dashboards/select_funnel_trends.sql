-- One funnel's daily conversion, by the day of the step-1 time, within the chosen UTC days.
select period, entered, converted, conversion_rate
from mart_funnel_trends
where funnel = $funnel and period >= $start and period < $end
order by period
