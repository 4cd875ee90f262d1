-- One funnel's histogram of seconds from the first to the last step.
select bin_start_s, bin_end_s, count
from mart_funnel_time_to_convert
where funnel = $funnel
order by bin_start_s
