-- The newest timestamp of any source table (the default evaluation instant of `opsledger slo`).
-- SLO corrections are audit events stamped when they were recorded, not data: a correction
-- made today must not move the instant an old warehouse is evaluated at.
select greatest(
    (select max(ts) from metric_samples),
    (select max(ts) from log_records),
    (select max(ts) from audit_events where source is distinct from 'opsledger:corrections'),
    (select max(ts) from product_events),
    (select max(run_started_at) from test_results)
) as latest
