-- Exclusion $i: an attempt is excluded when the exclusion event happens after its from-step and
-- before its to-step (or, when the to-step was not reached, inside the window from step 1).
-- An excluded attempt counts as having reached only its from-step (PostHog stops it there).
create or replace temp table funnel_attempts as
select
    a.unit,
    a.attempt,
    a.levels,
    a.bds,
    a.depth,
    case
        when
            a.depth >= $from_step
            and x.t is not null
            and (
                case
                    when a.depth >= $to_step then x.t < a.levels[$to_step]
                    else x.t - a.levels[1] <= $window_us
                end
            )
            then least(coalesce(a.excluded_at, $from_step), $from_step)
        else a.excluded_at
    end as excluded_at
from funnel_attempts as a
asof left join (select unit, t from funnel_events where excl[$i]) as x
    on a.unit = x.unit and a.levels[$from_step] < x.t
