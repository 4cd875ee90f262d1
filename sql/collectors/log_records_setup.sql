-- The log fields every known dialect can carry, parsed in one pass per line.
-- Nested ECS objects and their dotted spellings are both listed ({"http":{"request":{"method":..}}}
-- and {"http.request.method":..}). from_json is non-strict: a value of another shape becomes null
-- instead of failing the line. Keys that are an object in ECS but a plain string in another
-- dialect ("log" in docker, "event" in structlog, "service" and "url" as plain aliases) are read
-- again as strings only for lines that lack the ECS form (see map_log_records.sql), which keeps
-- ECS lines at one parse each.
create or replace temp macro log_fields(doc) as from_json(doc, '{
    "@timestamp": "VARCHAR", "timestamp": "VARCHAR", "ts": "VARCHAR", "time": "VARCHAR",
    "asctime": "VARCHAR",
    "log": {"level": "VARCHAR", "logger": "VARCHAR"}, "log.level": "VARCHAR", "log.logger": "VARCHAR",
    "level": "VARCHAR", "levelname": "VARCHAR", "severity": "VARCHAR",
    "message": "VARCHAR", "msg": "VARCHAR",
    "logger": "VARCHAR", "name": "VARCHAR",
    "service": {"name": "VARCHAR", "environment": "VARCHAR"},
    "service.name": "VARCHAR", "service.environment": "VARCHAR",
    "environment": "VARCHAR", "env": "VARCHAR",
    "trace": {"id": "VARCHAR"}, "trace.id": "VARCHAR", "trace_id": "VARCHAR",
    "span": {"id": "VARCHAR"}, "span.id": "VARCHAR", "span_id": "VARCHAR",
    "transaction": {"id": "VARCHAR"}, "transaction.id": "VARCHAR", "correlation_id": "VARCHAR",
    "user": {"id": "VARCHAR"}, "user.id": "VARCHAR", "user_id": "VARCHAR",
    "labels": {"tenant_id": "VARCHAR"}, "labels.tenant_id": "VARCHAR",
    "tenant": {"id": "VARCHAR"}, "tenant.id": "VARCHAR",
    "organization": {"id": "VARCHAR"}, "organization.id": "VARCHAR", "tenant_id": "VARCHAR",
    "http": {"request": {"method": "VARCHAR"}, "response": {"status_code": "VARCHAR"}},
    "http.request.method": "VARCHAR", "http.response.status_code": "VARCHAR",
    "http_method": "VARCHAR", "method": "VARCHAR",
    "http_status": "VARCHAR", "status_code": "VARCHAR", "status": "VARCHAR",
    "url": {"path": "VARCHAR", "original": "VARCHAR"}, "url.path": "VARCHAR", "url.original": "VARCHAR",
    "url_path": "VARCHAR", "path": "VARCHAR",
    "event": {"duration": "VARCHAR"}, "event.duration": "VARCHAR", "duration_ms": "VARCHAR"
}');

-- A line docker's json-file driver wrote: {"log":"...","stream":..,"time":..}, "log" first. A case,
-- so that the JSON check runs only for lines with that prefix (DuckDB reorders and/or operands).
create or replace temp macro is_docker(line) as
    case when prefix(line, '{"log":"') or prefix(line, '{"log": "') then json_valid(line) else false end;
