-- The identity mapping (PostHog's $identify / alias): one person_id per distinct_id. <source> is one
-- of the fixed readers in opsledger.funnels.identities, its file or table name the bound $identities.
-- A distinct_id mapped to two persons would count one event for both, so it stops the query here,
-- naming the id, rather than skewing every step.
select
    distinct_id,
    case
        when count(distinct person_id) > 1
            then error(
                'identities ' || $identities || ': distinct_id ' || distinct_id
                || ' maps to more than one person (' || string_agg(distinct person_id, ', ' order by person_id) || ')'
            )
        else min(person_id)
    end as person_id
from (select distinct_id::varchar as distinct_id, person_id::varchar as person_id from {source})
where distinct_id is not null and person_id is not null
group by distinct_id
