-- One funnel's units that dropped off at step $step (PostHog: reached step - 1, not step) or, with
-- $dropped false, converted to it (reached it or further); the columns of `opsledger funnel --dropoffs`.
select unit, deepest_step, entered_at, breakdown
from mart_funnel_people
where funnel = $funnel and case when $dropped then deepest_step = $step - 1 else deepest_step >= $step end
order by unit, entered_at
