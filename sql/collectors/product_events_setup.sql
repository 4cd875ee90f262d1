-- The fields of a product event: PostHog's export shape {"timestamp", "distinct_id", "event",
-- "properties": {...}} and the common aliases, parsed in one pass per record. "properties" is
-- read as text (its JSON) because it is kept whole.
create or replace temp macro event_fields(doc) as from_json(doc, '{
    "timestamp": "VARCHAR", "ts": "VARCHAR", "@timestamp": "VARCHAR",
    "distinct_id": "VARCHAR", "user_id": "VARCHAR", "event": "VARCHAR",
    "session_id": "VARCHAR", "tenant_id": "VARCHAR", "properties": "VARCHAR"
}');

-- Top-level keys the columns hold; JSON merge-patch (RFC 7396) deletes a key patched with null.
create or replace temp macro event_columns_removed(doc) as json_merge_patch(doc, '{
    "timestamp": null, "ts": null, "@timestamp": null, "distinct_id": null, "user_id": null,
    "event": null, "session_id": null, "tenant_id": null, "properties": null
}');
