-- One row per audit event: who (actor) did what (action) to what (resource), and the outcome.
create or replace view audit_events as
select ts, actor, action, resource, outcome, tenant_id, session_id, source_ip, user_agent,
    cast(details as json) as details, source
from {relation}
