-- Every minute of one SLA month [$month_start, $month_end) (UTC instants of the local calendar
-- month, so a DST month has 60 minutes more or fewer), flagged as excluded and/or bad.
--
-- A minute is excluded when any part of it lies in a maintenance window of sla_exclusions (a
-- window starting at 02:00:30 excludes the 02:00 minute: the customer was told about it). A
-- minute is bad when it had traffic and its SLI good / total is below $target — the SLA's
-- down_below threshold, by default its target — (within 1e-9, so
-- 999 of 1000 meets a target written as 99.9 %); a minute without traffic is not downtime, as
-- missing data burns no budget. Facts of all groups of the SLO are summed: the contract is on the
-- whole service.
with minutes as (
    select minute
    from generate_series(
        $month_start::timestamptz, $month_end::timestamptz - interval 1 minute, interval 1 minute
    ) as g(minute)
),
traffic as (
    select minute, sum(good) as good, sum(total) as total
    from sla_facts
    where minute >= $month_start::timestamptz and minute < $month_end::timestamptz
    group by minute
),
excluded as (
    select distinct m.minute
    from minutes as m
    join sla_exclusions as x on x."start" < m.minute + interval 1 minute and x."end" > m.minute
)
select
    m.minute,
    e.minute is not null as excluded,
    coalesce(t.total > 0 and t.good / t.total < $target - 1e-9, false) as bad
from minutes as m
left join traffic as t on t.minute = m.minute
left join excluded as e on e.minute = m.minute
order by m.minute
