-- Per service: the share of dropped and of converted people who met at least one of its errors,
-- the difference (percentage points as a fraction) and the lift (ratio; null when no converted
-- person met one), most over-represented among the dropped first (ties: by the same difference
-- for slow requests); plus each group's share of people who met a slow request and p95 duration.
with sizes as (
    select
        count(*) filter (where outcome = 'dropped') as dropped,
        count(*) filter (where outcome = 'converted') as converted
    from why_people
),

per_service as (
    select
        l.service,
        count(distinct p.person) filter (where l.is_error and p.outcome = 'dropped') as dropped_people_with_errors,
        count(distinct p.person) filter (
            where l.is_error and p.outcome = 'converted'
        ) as converted_people_with_errors,
        count(*) filter (where l.is_error and p.outcome = 'dropped') as dropped_error_events,
        count(*) filter (where l.is_error and p.outcome = 'converted') as converted_error_events,
        count(distinct p.person) filter (where l.is_slow and p.outcome = 'dropped') as dropped_people_slow,
        count(distinct p.person) filter (where l.is_slow and p.outcome = 'converted') as converted_people_slow,
        quantile_cont(l.duration_ms, 0.95) filter (where p.outcome = 'dropped') as dropped_p95_duration_ms,
        quantile_cont(l.duration_ms, 0.95) filter (where p.outcome = 'converted') as converted_p95_duration_ms
    from why_people as p
    join why_matches as m on m.person = p.person
    join why_logs as l on l.log_id = m.log_id
    where l.service is not null
    group by l.service
),

shares as (
    select
        s.*,
        s.dropped_people_with_errors / nullif(z.dropped, 0) as dropped_error_share,
        s.converted_people_with_errors / nullif(z.converted, 0) as converted_error_share,
        s.dropped_people_slow / nullif(z.dropped, 0) as dropped_slow_share,
        s.converted_people_slow / nullif(z.converted, 0) as converted_slow_share
    from per_service as s, sizes as z
)

select
    service,
    dropped_people_with_errors,
    dropped_error_share,
    converted_people_with_errors,
    converted_error_share,
    dropped_error_share - converted_error_share as difference,
    dropped_error_share / nullif(converted_error_share, 0) as lift,
    dropped_error_events,
    converted_error_events,
    dropped_slow_share,
    converted_slow_share,
    dropped_p95_duration_ms,
    converted_p95_duration_ms
from shares
order by
    difference desc nulls last,
    dropped_slow_share - converted_slow_share desc nulls last,
    service
