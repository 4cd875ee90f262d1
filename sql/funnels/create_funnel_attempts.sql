-- Strict: one row per attempt: levels[k] is when it reached its k-th step; depth counts the steps
-- reached within the window, measured from the step-1 time and inclusive.
create or replace temp table funnel_attempts as
select
    unit,
    attempt,
    levels,
    bds,
    length(list_filter(levels, lambda x: x is not null and x - levels[1] <= $window_us)) as depth,
    null::integer as excluded_at
from funnel_chain
