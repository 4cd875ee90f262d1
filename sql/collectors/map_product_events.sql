-- One block of JSON records -> product_events rows and rejects (collectors/product_events.py).
-- Input: lines(n, line); line is null when the bytes were not UTF-8. Rows come out in no particular order.
with checked as (
    select n, line, json_valid(line) as is_json
    from lines
    -- blank lines are not records: skipped and not counted
    where prefix(line, '{') or line is null or trim(line, e' \t\r\n') <> ''
),

classified as materialized (
    select
        n,
        line,
        coalesce(is_json, false) as is_json,
        case when not is_json then false when prefix(line, '{') then true else json_type(line) = 'OBJECT' end as is_object
    from checked
),

records as (
    select n, line, is_json, true as is_object, event_fields(line) as s
    from classified
    where is_object
    union all
    select n, line, is_json, false, null
    from classified
    where not is_object
),

fields as (
    select
        *,
        coalesce(s.timestamp, s.ts, s."@timestamp") as ts_text,
        parse_ts(ts_text) as ts,
        -- a "properties" that is not an object (absent, null, a string) counts as no properties
        case when left(s.properties, 1) = '{' then s.properties end as props
    from records
)

select
    ts,
    coalesce(s.distinct_id, s.user_id) as distinct_id,
    s.event as event,
    coalesce(s.session_id, props ->> '$."$session_id"') as session_id,
    coalesce(s.tenant_id, props ->> '$.tenant_id') as tenant_id,
    -- the event's properties, plus every other top-level key the columns do not hold (the
    -- properties win when both have a key): what a funnel breakdown or a drill-down reads
    case when is_object then json_merge_patch(event_columns_removed(line), coalesce(props, '{}'))::varchar end
        as properties,
    $source as source,
    n as _position,
    1 as _records,
    case
        when line is null then 'not valid UTF-8'
        when not is_json then 'not valid JSON'
        when not is_object then 'not a JSON object'
        when ts_text is null then 'field ''ts'': missing'
        when ts is null then 'field ''' || case
            when s.timestamp is not null then 'timestamp'
            when s.ts is not null then 'ts'
            else '@timestamp' end || ''': not a timestamp ' || quoted(ts_text)
        when s.event is null then 'field ''event'': missing'
        when coalesce(s.distinct_id, s.user_id) is null then 'field ''distinct_id'': missing'
    end as _reason,
    case when _reason is not null then line end as _raw
from fields
