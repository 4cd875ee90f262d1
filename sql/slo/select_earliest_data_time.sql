-- The oldest timestamp of any source table: where the SLO marts' history and replay begin.
select least(
    (select min(ts) from metric_samples),
    (select min(ts) from log_records),
    (select min(ts) from audit_events),
    (select min(ts) from product_events),
    (select min(run_started_at) from test_results)
) as earliest
