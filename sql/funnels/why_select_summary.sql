-- Per outcome: people, how many had any backend log / any error in their window, error events per
-- person (people without logs count as zero), how many met a slow request, and the p50/p95
-- duration of the requests they made.
with per_person as (
    select
        p.person,
        p.outcome,
        count(l.log_id) as log_events,
        count(l.log_id) filter (where l.is_error) as error_events,
        count(l.log_id) filter (where l.is_slow) as slow_events
    from why_people as p
    left join why_matches as m on m.person = p.person
    left join why_logs as l on l.log_id = m.log_id
    group by p.person, p.outcome
),

durations as (
    select
        p.outcome,
        quantile_cont(l.duration_ms, 0.5) as p50_duration_ms,
        quantile_cont(l.duration_ms, 0.95) as p95_duration_ms
    from why_people as p
    join why_matches as m on m.person = p.person
    join why_logs as l on l.log_id = m.log_id
    group by p.outcome
),

counted as (
    select
        g.outcome,
        count(pp.person) as people,
        count(pp.person) filter (where pp.log_events > 0) as people_with_logs,
        count(pp.person) filter (where pp.error_events > 0) as people_with_errors,
        count(pp.person) filter (where pp.slow_events > 0) as people_with_slow_requests,
        coalesce(sum(pp.error_events), 0)::bigint as error_events
    from (values ('dropped', 1), ('converted', 2)) as g (outcome, ord)
    left join per_person as pp on pp.outcome = g.outcome
    group by g.outcome, g.ord
)

select
    c.outcome,
    c.people,
    c.people_with_logs,
    c.people_with_errors,
    c.people_with_errors / nullif(c.people, 0) as error_share,
    c.error_events,
    c.error_events / nullif(c.people, 0) as errors_per_person,
    c.people_with_slow_requests,
    c.people_with_slow_requests / nullif(c.people, 0) as slow_share,
    d.p50_duration_ms,
    d.p95_duration_ms
from counted as c
left join durations as d on d.outcome = c.outcome
order by c.outcome = 'converted', c.outcome
