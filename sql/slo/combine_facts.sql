-- One row per group and minute: good and total events. The total side decides which minutes have
-- data (a minute with no total events is absent: NO data, not zero); the other side is good
-- events or bad events, whichever the spec counts.
select
    $slo as slo,
    t.grp,
    t.minute,
    case when $counts_bad then t.n - coalesce(p.n, 0) else coalesce(p.n, 0) end as good,
    t.n as total
from slo_total_side as t
left join slo_part_side as p on p.grp = t.grp and p.minute = t.minute
order by t.grp, t.minute
