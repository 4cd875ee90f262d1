-- Everyone whose counted attempt reached step $from_step: 'dropped' if it stopped there (dropped off
-- at step $from_step + 1), 'converted' if it went on to step $from_step + 1. t_k (epoch us) is that
-- attempt's step-$from_step time, where the backend window starts.
create or replace temp table why_people as
select
    row_number() over (order by unit, attempt) as person,
    unit,
    case when reached > $from_step then 'converted' else 'dropped' end as outcome,
    levels[$from_step] as t_k
from funnel_best
where reached >= $from_step
