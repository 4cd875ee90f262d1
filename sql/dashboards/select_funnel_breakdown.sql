-- One funnel broken down by one property: per value and step, the units that reached the step.
select breakdown, step, event, count, conversion_from_start, conversion_from_previous,
    average_conversion_time_s, median_conversion_time_s
from mart_funnel_breakdowns
where funnel = $funnel and property = $property
order by breakdown nulls first, step
