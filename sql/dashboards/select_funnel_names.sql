-- The configured funnels that have marts, in name order.
select distinct funnel from mart_funnel_steps order by funnel
