-- Every ingest run: rows_read = rows_written + rows_quarantined, always.
create or replace view ingest_batches as
select batch_id, target_table, source, started_at, finished_at, rows_read, rows_written,
    rows_quarantined, watermark, status, error
from {relation}
