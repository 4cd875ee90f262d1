-- Unordered attempts: the steps found, in time order, are the levels.
create or replace temp table funnel_attempts as
select
    unit,
    attempt,
    list_transform(f, lambda x: x.t) as levels,
    list_transform(f, lambda x: x.bd) as bds,
    length(f) as depth,
    null::integer as excluded_at
from (
    select unit, attempt, list_sort(list_filter(found, lambda x: x is not null)) as f from funnel_chain
)
