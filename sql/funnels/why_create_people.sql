-- Everyone whose counted attempt reached step $k: 'dropped' if it stopped there, 'converted' if it
-- reached step $k + 1. t_k (epoch us) is that attempt's step-$k time, where the backend window starts.
create or replace temp table why_people as
select
    row_number() over (order by unit, attempt) as person,
    unit,
    case when reached > $k then 'converted' else 'dropped' end as outcome,
    levels[$k] as t_k
from funnel_best
where reached >= $k
