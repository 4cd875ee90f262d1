-- The properties one funnel can be broken down by (precomputed in mart_funnel_breakdowns), its own
-- breakdown first.
select property
from mart_funnel_breakdowns
where funnel = $funnel
group by property
order by min(property_order), property
