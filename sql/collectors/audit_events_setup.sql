-- The audit fields of generic audit JSON and of Kubernetes audit events (audit.k8s.io Event),
-- parsed in one pass per record. Keys that are a plain string in one source and an object in
-- another (actor, user, resource, target) are read as text: an object comes back as its JSON.
create or replace temp macro audit_fields(doc) as from_json(doc, '{
    "apiVersion": "VARCHAR", "kind": "VARCHAR", "auditID": "VARCHAR", "verb": "VARCHAR",
    "stage": "VARCHAR", "stageTimestamp": "VARCHAR", "requestReceivedTimestamp": "VARCHAR",
    "requestURI": "VARCHAR", "userAgent": "VARCHAR", "sourceIPs": ["VARCHAR"],
    "objectRef": {
        "resource": "VARCHAR", "namespace": "VARCHAR", "name": "VARCHAR", "subresource": "VARCHAR"
    },
    "responseStatus": {"code": "VARCHAR"},
    "ts": "VARCHAR", "@timestamp": "VARCHAR", "timestamp": "VARCHAR", "time": "VARCHAR",
    "actor": "VARCHAR", "user": "VARCHAR", "action": "VARCHAR",
    "resource": "VARCHAR", "target": "VARCHAR", "outcome": "VARCHAR", "result": "VARCHAR",
    "tenant_id": "VARCHAR", "session_id": "VARCHAR", "source_ip": "VARCHAR", "ip": "VARCHAR",
    "user_agent": "VARCHAR"
}');

-- Who or what an audit field names: the text itself, or for an object its first identifying key.
create or replace temp macro audit_name(v) as
    case when left(v, 1) = '{' then coalesce(v ->> 'username', v ->> 'id', v ->> 'name', v ->> 'email') else v end;

-- The Kubernetes rule for a response code: < 400 success, 401/403 failure (denied), else error.
create or replace temp macro outcome_of_code(code) as case
    when code is null then null
    when code < 400 then 'success'
    when code in (401, 403) then 'failure'
    else 'error'
end;

-- success / failure / error from the words and codes audit sources use; null when unknown.
create or replace temp macro outcome_of(v) as case
    when regexp_full_match(trim(v), '\d{3}') then outcome_of_code(try_cast(trim(v) as integer))
    when lower(trim(v)) in ('success', 'succeeded', 'successful', 'ok', 'allow', 'allowed', 'pass', 'passed',
        'granted', 'true') then 'success'
    when lower(trim(v)) in ('failure', 'failed', 'fail', 'deny', 'denied', 'forbidden', 'unauthorized',
        'rejected', 'blocked', 'false') then 'failure'
    when lower(trim(v)) in ('error', 'errored', 'exception', 'fault') then 'error'
end;
