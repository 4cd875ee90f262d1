-- Multi-window, multi-burn-rate alerts (SRE Workbook ch. 5) replayed over history, per minute.
--
-- The alert state is evaluated at every minute instant t in [$start, $end), over the complete
-- minutes before t, and holds until the next evaluation; an alert rule fires when the error ratio of both its long and its
-- short window ending at t exceeds $threshold = factor × (1 − T). Windows are exact and
-- event-weighted: Σbad / Σtotal from a running sum over a dense minute grid, so a window is a
-- difference of two running sums; a window without events has no ratio and never fires (missing
-- data burns no budget). A severity fires when any of its rules does; consecutive firing minutes
-- become one interval [start, end).
with rules as (
    select
        unnest($severities::varchar[]) as severity,
        unnest($long_minutes::integer[]) as long_minutes,
        unnest($short_minutes::integer[]) as short_minutes,
        unnest($thresholds::double[]) as threshold
),
grid as (
    select g.grp, m.minute
    from (select distinct grp from slo_replay_facts) as g
    cross join generate_series($grid_start::timestamptz, $end::timestamptz - interval 1 minute, interval 1 minute) as m(minute)
),
running as (
    select
        grid.grp,
        grid.minute,
        sum(coalesce(f.total - f.good, 0)) over w as bad,
        sum(coalesce(f.total, 0)) over w as total
    from grid
    left join slo_replay_facts as f on f.grp = grid.grp and f.minute = grid.minute
    window w as (partition by grid.grp order by grid.minute rows between unbounded preceding and current row)
),
checks as (
    select
        c.grp,
        c.minute,
        r.severity,
        r.threshold,
        (c.bad - coalesce(l.bad, 0)) / nullif(c.total - coalesce(l.total, 0), 0) as long_ratio,
        (c.bad - coalesce(s.bad, 0)) / nullif(c.total - coalesce(s.total, 0), 0) as short_ratio
    from running as c
    cross join rules as r
    left join running as l on l.grp = c.grp and l.minute = c.minute - to_minutes(r.long_minutes)
    left join running as s on s.grp = c.grp and s.minute = c.minute - to_minutes(r.short_minutes)
    where c.minute >= $start::timestamptz - interval 1 minute and c.minute < $end::timestamptz - interval 1 minute
),
firing as (
    select distinct grp, severity, minute
    from checks
    where long_ratio > threshold and short_ratio > threshold
),
islands as (
    select
        grp,
        severity,
        minute,
        minute - to_minutes(row_number() over (partition by grp, severity order by minute)) as island
    from firing
)
select
    grp as "group",
    severity,
    min(minute) + interval 1 minute as "start",
    max(minute) + interval 2 minute as "end"
from islands
group by grp, severity, island
order by grp, "start", severity
