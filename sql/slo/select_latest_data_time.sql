-- The newest timestamp of any source table (the default evaluation instant of `opsledger slo`).
select greatest(
    (select max(ts) from metric_samples),
    (select max(ts) from log_records),
    (select max(ts) from audit_events),
    (select max(ts) from product_events),
    (select max(run_started_at) from test_results)
) as latest
