-- One row per product event (PostHog export shape); properties keeps every property.
create or replace view product_events as
select ts, distinct_id, event, session_id, tenant_id, cast(properties as json) as properties, source
from {relation}
