-- Rows per table after deploy/live-stack.sh has collected and built (printed by the script).
select 'metric_samples' as table_name, count(*) as row_count from metric_samples
union all select 'log_records', count(*) from log_records
union all select 'audit_events', count(*) from audit_events
union all select 'product_events', count(*) from product_events
union all select 'directory_users', count(*) from directory_users
union all select 'directory_groups', count(*) from directory_groups
union all select 'directory_memberships', count(*) from directory_memberships
union all select 'quarantine', count(*) from quarantine
union all select 'ingest_batches', count(*) from ingest_batches
