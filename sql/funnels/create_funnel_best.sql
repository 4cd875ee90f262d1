-- The counted attempt per unit (and per step-1 period for trends, or every attempt for totals):
-- the deepest an attempt got decides; if no clean attempt got that deep the unit is dropped from
-- every step; among clean ones the first to get there wins, ties going to the latest step-1
-- (PostHog: the latest step-1 before a conversion anchors it).
-- One ordering does both: the deepest attempts first, clean before excluded, then the tie-breaks; a
-- unit whose first row is excluded had no clean attempt that deep (one sort instead of two windows).
create or replace temp table funnel_best as
select unit, attempt, reached, levels, breakdown, period
from (
    select
        unit,
        attempt,
        reached,
        levels,
        case when $last_touch then bds[reached] else bds[1] end as breakdown,
        period,
        excluded_at
    from (
        select
            *,
            coalesce(excluded_at, depth) as reached,
            case when $per_attempt then attempt end as attempt_key,
            case when $grain is not null then date_trunc($grain, make_timestamp(levels[1])) end as period
        from funnel_attempts
    )
    qualify
        row_number() over (
            partition by unit, attempt_key, period
            order by reached desc, excluded_at nulls first, levels[reached], levels[1] desc, attempt desc
        ) = 1
)
where excluded_at is null
