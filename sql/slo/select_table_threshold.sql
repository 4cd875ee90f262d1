-- Good and total events per minute for a threshold SLI: each row of the relation is one event,
-- good when its measured value {op} $threshold (e.g. duration_ms < 300).
--
-- {op} comes from the allow-list of OpenSLO operators; {measure} is SQL text from the spec
-- (trusted configuration); the relation and columns are allow-listed as in select_table_events.
select
    {grp} as grp,
    timezone('UTC', date_trunc('minute', timezone('UTC', {ts}))) as minute,
    count(*) filter (where ({measure}) {op} $threshold)::double as good,
    count(*)::double as total
from {relation}
where {ts} >= $start and {ts} < $end and ({predicate})
group by all
