-- One block of JSON records -> audit_events rows and rejects (collectors/audit.py, collectors/jsonlines.py).
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
    select n, line, is_json, true as is_object, audit_fields(line) as s
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
        -- Kubernetes audit.k8s.io Event; older captures (v1beta1, minikube) may lack apiVersion
        coalesce(starts_with(s.apiVersion, 'audit.k8s.io/') or (s.kind = 'Event' and s.auditID is not null), false)
            as is_k8s,
        case when is_k8s then coalesce(s.stageTimestamp, s.requestReceivedTimestamp, s.timestamp)
            else coalesce(s.ts, s."@timestamp", s.timestamp, s.time) end as ts_text,
        parse_ts(ts_text) as ts,
        case when is_k8s then s.verb else s.action end as action,
        coalesce(s.outcome, s.result) as outcome_text
    from records
)

select
    ts,
    audit_name(coalesce(s.actor, s.user)) as actor,
    action,
    case
        when is_k8s then coalesce(
            nullif(concat_ws('/', s.objectRef.resource, s.objectRef.namespace, s.objectRef.name,
                s.objectRef.subresource), ''),
            s.requestURI)
        else audit_name(coalesce(s.resource, s.target))
    end as resource,
    case when is_k8s then outcome_of_code(try_cast(s.responseStatus.code as integer)) else outcome_of(outcome_text) end
        as outcome,
    s.tenant_id as tenant_id,
    case when is_k8s then s.auditID else s.session_id end as session_id,
    case when is_k8s then s.sourceIPs[1] else coalesce(s.source_ip, s.ip) end as source_ip,
    coalesce(s.userAgent, s.user_agent) as user_agent,
    -- the record itself, which the reader fills in from the block (JsonMapping.line_column)
    null::varchar as details,
    $source as source,
    n as _position,
    1 as _records,
    case
        when line is null then 'not valid UTF-8'
        when not is_json then 'not valid JSON'
        when not is_object then 'not a JSON object'
        when ts_text is null then 'field ''ts'': missing'
        when ts is null then 'field ''' || case
            when is_k8s then case when s.stageTimestamp is not null then 'stageTimestamp'
                when s.requestReceivedTimestamp is not null then 'requestReceivedTimestamp' else 'timestamp' end
            when s.ts is not null then 'ts'
            when s."@timestamp" is not null then '@timestamp'
            when s.timestamp is not null then 'timestamp'
            else 'time' end || ''': not a timestamp ' || quoted(ts_text)
        when action is null then 'field ''' || case when is_k8s then 'verb' else 'action' end || ''': missing'
        when not is_k8s and outcome_text is not null and outcome_of(outcome_text) is null
            then 'field ''' || case when s.outcome is not null then 'outcome' else 'result' end
                || ''': not success, failure or error ' || quoted(outcome_text)
    end as _reason,
    case when _reason is not null then line end as _raw
from fields
