-- One block of JSON lines -> log_records rows and rejects (collectors/logs.py, collectors/jsonlines.py).
-- Input: lines(n, line) without line breaks (line is null when the bytes were not UTF-8), and the
-- block's docker lines as whole records in docker_records (assemble_docker_records.sql).
-- Rows come out in no particular order; attributes is null where it is the row's own line.
-- Every other line goes through one pass: no CTE is read twice (materializing one would copy
-- every line).
with checked as (
    select n, line, coalesce(json_valid(line), false) as is_json
    from lines
    -- blank lines are not records: skipped and not counted
    where (prefix(line, '{') or line is null or trim(line, e' \t\r\n') <> '')
        and not is_docker(line)
),

plain as (
    select
        n,
        line,
        is_json,
        -- document functions fail on text that is not JSON, so they only ever see json_valid lines
        -- (a case, not and/or, which DuckDB may evaluate on both sides; try() would fall back to
        -- row-by-row work in every vector holding a bad line)
        case when not is_json then false when prefix(line, '{') then true else json_type(line) = 'OBJECT' end
            as is_object
    from checked
),

records as (
    select
        n as _position,
        1 as _records,
        null::bigint[] as _lines,
        line,
        is_json,
        is_object,
        case when is_object then log_fields(line) end as s,
        null::varchar as log_message,
        -- the document is the line itself: the reader fills attributes in from the block
        null::varchar as doc_text,
        null::varchar as raw_text,
        false as _open
    from plain
    union all
    -- a JSON document in "log" is merged the way fluent-bit's Merge_Log does: its keys win for
    -- the columns (the app's own time, level and message), the docker keys win in attributes
    select
        _position,
        _records,
        _lines,
        '',
        true,
        true,
        log_fields(case when log_is_object then json_merge_patch(outer_doc, log_message) else outer_doc end),
        log_message,
        case when log_is_object then json_merge_patch(log_message, outer_doc)::varchar else outer_doc end,
        raw_text,
        _open
    from docker_records
),

fields as (
    select
        *,
        -- string forms of keys ECS uses as objects, read (one more parse) only when needed
        case when is_object and (coalesce(s.message, s.msg, log_message) is null
            or coalesce(s.service.name, s."service.name") is null
            or coalesce(s.url.path, s."url.path", s.url_path, s.url.original, s."url.original", s.path) is null)
            then json_extract_string(coalesce(doc_text, line), ['$.event', '$.log', '$.service', '$.url'])
        end as strings,
        coalesce(s."@timestamp", s.timestamp, s.ts, s.time, s.asctime) as ts_text,
        parse_ts(ts_text) as ts,
        coalesce(s.http.response.status_code, s."http.response.status_code", s.http_status, s.status_code, s.status)
            as status_text,
        try_cast(status_text as integer) as http_status,
        coalesce(s.event.duration, s."event.duration") as duration_ns_text,
        coalesce(try_cast(s.duration_ms as double), try_cast(duration_ns_text as double) / 1e6) as duration_ms
    from records
)

select
    ts,
    coalesce(s.service.name, s."service.name", not_object(strings[3])) as service,
    coalesce(s.service.environment, s."service.environment", s.environment, s.env) as environment,
    lower(trim(coalesce(s.log.level, s."log.level", s.level, s.levelname, s.severity))) as level,
    coalesce(s.message, s.msg, log_message, not_object(strings[1]), rtrim(not_object(strings[2]), e'\r\n'))
        as message,
    coalesce(s.log.logger, s."log.logger", s.logger, s.name) as logger,
    coalesce(s.trace.id, s."trace.id", s.trace_id) as trace_id,
    coalesce(s.span.id, s."span.id", s.span_id) as span_id,
    coalesce(s.transaction.id, s."transaction.id", s.correlation_id) as correlation_id,
    coalesce(s.user.id, s."user.id", s.user_id) as user_id,
    coalesce(
        s.labels.tenant_id, s."labels.tenant_id", s.tenant.id, s."tenant.id",
        s.organization.id, s."organization.id", s.tenant_id
    ) as tenant_id,
    coalesce(s.http.request.method, s."http.request.method", s.http_method, s.method) as http_method,
    coalesce(
        s.url.path, s."url.path", s.url_path,
        url_path_of(coalesce(s.url.original, s."url.original", not_object(strings[4]), s.path))
    ) as url_path,
    http_status,
    duration_ms,
    doc_text as attributes,
    $source as source,
    _position,
    _records,
    _lines,
    _open,
    case
        when line is null then 'not valid UTF-8'
        when not is_json then 'not valid JSON'
        when not is_object then 'not a JSON object'
        when ts_text is null then 'field ''ts'': missing'
        when ts is null then 'field ''' || case
            when s."@timestamp" is not null then '@timestamp'
            when s.timestamp is not null then 'timestamp'
            when s.ts is not null then 'ts'
            when s.time is not null then 'time'
            else 'asctime' end || ''': not a timestamp ' || quoted(ts_text)
        when status_text is not null and http_status is null then 'field ''' || case
            when coalesce(s.http.response.status_code, s."http.response.status_code") is not null
                then 'http.response.status_code'
            when s.http_status is not null then 'http_status'
            when s.status_code is not null then 'status_code'
            else 'status' end || ''': not an integer ' || quoted(status_text)
        when s.duration_ms is not null and try_cast(s.duration_ms as double) is null
            then 'field ''duration_ms'': not a number ' || quoted(s.duration_ms)
        when duration_ns_text is not null and try_cast(duration_ns_text as double) is null
            then 'field ''event.duration'': not a number ' || quoted(duration_ns_text)
    end as _reason,
    case when _reason is not null then coalesce(raw_text, doc_text, line) end as _raw
from fields
