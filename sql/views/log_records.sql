-- One row per log line (ECS, structlog, python-json-logger, docker json-file); the rest of each
-- document is in attributes.
create or replace view log_records as
select ts, service, environment, level, message, logger, trace_id, span_id, correlation_id,
    user_id, tenant_id, http_method, url_path, http_status, duration_ms,
    cast(attributes as json) as attributes, source
from {relation}
