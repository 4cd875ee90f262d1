-- The units that dropped off before step $step (reached step - 1, not step) or converted to it.
select
    unit,
    reached as deepest_step,
    make_timestamptz(levels[1]) as entered_at,
    breakdown
from funnel_best
where case when $dropped then reached = $step - 1 else reached >= $step end
order by unit, entered_at
