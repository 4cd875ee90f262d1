-- One row per attempt: levels[k] is when it reached its k-th step; depth counts the steps reached
-- within the window, measured from the step-1 time and inclusive. An ordered chain ($pruned) already
-- holds only those steps, so its depth is its length.
create or replace temp table funnel_attempts as
select
    unit,
    attempt,
    levels,
    bds,
    case
        when $pruned then length(levels)
        else length(list_filter(levels, lambda x: x is not null and x - levels[1] <= $window_us))
    end as depth,
    null::integer as excluded_at
from funnel_chain
