-- One funnel's steps over all its people (the whole-funnel rows, not the breakdown groups).
select step, event, count, conversion_from_start, conversion_from_previous,
    average_conversion_time_s, median_conversion_time_s
from mart_funnel_steps
where funnel = $funnel and is_total
order by step
