-- Every input record that could not be stored, with the reason and where it was.
create or replace view quarantine as
select ingested_at, batch_id, target_table, source, reason, raw, position
from {relation}
