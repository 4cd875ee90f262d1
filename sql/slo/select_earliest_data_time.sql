-- The oldest timestamp of any source table: where the SLO marts' history and replay begin.
-- SLO corrections are audit events stamped when they were recorded, not data: a correction
-- made today must not move the instant an old warehouse is evaluated at.
select least(
    (select min(ts) from metric_samples),
    (select min(ts) from log_records),
    (select min(ts) from audit_events where source is distinct from 'opsledger:corrections'),
    (select min(ts) from product_events),
    (select min(run_started_at) from test_results)
) as earliest
