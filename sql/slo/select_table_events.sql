-- Events per minute in one warehouse relation: the rows matching {predicate}, each counting
-- {weight} (1 unless the spec gives a value expression).
--
-- Only the relation and the group/timestamp columns are substituted, from allow-lists (a contract
-- table or the spec's own query, columns checked against the table). {predicate} and {weight} are
-- SQL text from the SLO spec: trusted configuration, like a view definition. Values are bound.
select
    {grp} as grp,
    timezone('UTC', date_trunc('minute', timezone('UTC', {ts}))) as minute,
    sum({weight})::double as n
from {relation}
where {ts} >= $start and {ts} < $end and ({predicate})
group by all
