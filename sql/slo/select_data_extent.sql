-- The oldest and newest timestamps of any source table, one scan each: where the SLO marts'
-- history and replay begin, and the default evaluation instant of `opsledger slo`.
-- SLO corrections are audit events stamped when they were recorded, not data: a correction
-- made today must not move the instant an old warehouse is evaluated at.
select min(earliest) as earliest, max(latest) as latest
from (
    select min(ts) as earliest, max(ts) as latest from metric_samples
    union all
    select min(ts), max(ts) from log_records
    union all
    select min(ts), max(ts) from audit_events where source is distinct from 'opsledger:corrections'
    union all
    select min(ts), max(ts) from product_events
    union all
    select min(run_started_at), max(run_started_at) from test_results
)
