"""The data contract (DESIGN.md §2): the Arrow schema of every stable table.

Tables are extended, never renamed. All timestamps are UTC. JSON columns are stored as
text in Parquet (Arrow has no JSON type) and typed as DuckDB ``JSON`` by the views in
``sql/views/``. Every collector produces Arrow tables of exactly these schemas.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
JSON = pa.string()  # JSON text; the warehouse views cast it to DuckDB's JSON type

SCHEMAS: dict[str, pa.Schema] = {
    "metric_samples": pa.schema(
        [
            ("ts", TS),
            ("metric", pa.string()),
            ("labels", pa.map_(pa.string(), pa.string())),
            ("value", pa.float64()),
            ("source", pa.string()),
        ]
    ),
    "log_records": pa.schema(
        [
            ("ts", TS),
            ("service", pa.string()),
            ("environment", pa.string()),
            ("level", pa.string()),
            ("message", pa.string()),
            ("logger", pa.string()),
            ("trace_id", pa.string()),
            ("span_id", pa.string()),
            ("correlation_id", pa.string()),
            ("user_id", pa.string()),
            ("tenant_id", pa.string()),
            ("http_method", pa.string()),
            ("url_path", pa.string()),
            ("http_status", pa.int32()),
            ("duration_ms", pa.float64()),
            ("attributes", JSON),
            ("source", pa.string()),
        ]
    ),
    "audit_events": pa.schema(
        [
            ("ts", TS),
            ("actor", pa.string()),
            ("action", pa.string()),
            ("resource", pa.string()),
            ("outcome", pa.string()),  # success / failure / error
            ("tenant_id", pa.string()),
            ("session_id", pa.string()),
            ("source_ip", pa.string()),
            ("user_agent", pa.string()),
            ("details", JSON),
            ("source", pa.string()),
        ]
    ),
    "directory_users": pa.schema(
        [
            ("snapshot_at", TS),
            ("dn", pa.string()),
            ("uid", pa.string()),
            ("email", pa.string()),
            ("display_name", pa.string()),
            ("enabled", pa.bool_()),
            ("attributes", JSON),
            ("source", pa.string()),
        ]
    ),
    "directory_groups": pa.schema(
        [
            ("snapshot_at", TS),
            ("dn", pa.string()),
            ("name", pa.string()),
            ("attributes", JSON),
            ("source", pa.string()),
        ]
    ),
    "directory_memberships": pa.schema(
        [
            ("snapshot_at", TS),
            ("group_dn", pa.string()),
            ("member_dn", pa.string()),
            ("source", pa.string()),
        ]
    ),
    "test_results": pa.schema(
        [
            ("run_id", pa.string()),
            ("run_started_at", TS),
            ("suite", pa.string()),
            ("file", pa.string()),
            ("test_id", pa.string()),
            ("title", pa.string()),
            ("project", pa.string()),
            ("status", pa.string()),  # passed / failed / skipped / timedOut / interrupted
            ("outcome", pa.string()),  # expected / unexpected / flaky / skipped
            ("duration_ms", pa.float64()),
            ("retry", pa.int32()),
            ("error_message", pa.string()),
            ("commit_sha", pa.string()),
            ("branch", pa.string()),
            ("source_format", pa.string()),  # playwright / junit
            ("source", pa.string()),
        ]
    ),
    "product_events": pa.schema(
        [
            ("ts", TS),
            ("distinct_id", pa.string()),
            ("event", pa.string()),
            ("session_id", pa.string()),
            ("tenant_id", pa.string()),
            ("properties", JSON),
            ("source", pa.string()),
        ]
    ),
    "quarantine": pa.schema(
        [
            ("ingested_at", TS),
            ("batch_id", pa.string()),
            ("target_table", pa.string()),
            ("source", pa.string()),
            ("reason", pa.string()),
            ("raw", pa.string()),
            ("position", pa.string()),
        ]
    ),
    "ingest_batches": pa.schema(
        [
            ("batch_id", pa.string()),
            ("target_table", pa.string()),
            ("source", pa.string()),
            ("started_at", TS),
            ("finished_at", TS),
            ("rows_read", pa.int64()),
            ("rows_written", pa.int64()),
            ("rows_quarantined", pa.int64()),
            ("watermark", TS),
            ("status", pa.string()),  # succeeded / failed
            ("error", pa.string()),
        ]
    ),
}

# The column whose UTC date names a row's lake partition (date=YYYY-MM-DD).
PARTITION_COLUMN: dict[str, str] = {
    "metric_samples": "ts",
    "log_records": "ts",
    "audit_events": "ts",
    "directory_users": "snapshot_at",
    "directory_groups": "snapshot_at",
    "directory_memberships": "snapshot_at",
    "test_results": "run_started_at",
    "product_events": "ts",
    "quarantine": "ingested_at",
    "ingest_batches": "started_at",
}

# What `opsledger ingest <kind>` accepts, and the contract tables each kind fills.
INGEST_KINDS: dict[str, tuple[str, ...]] = {
    "metric_samples": ("metric_samples",),
    "log_records": ("log_records",),
    "audit_events": ("audit_events",),
    "directory": ("directory_users", "directory_groups", "directory_memberships"),
    "test_results": ("test_results",),
    "product_events": ("product_events",),
}

DATA_TABLES: tuple[str, ...] = tuple(t for kind in INGEST_KINDS.values() for t in kind)


def empty_table(name: str) -> pa.Table:
    return SCHEMAS[name].empty_table()


def table_from_pydict(name: str, columns: dict[str, list]) -> pa.Table:
    """Build a contract table from column lists; missing columns become nulls."""
    schema = SCHEMAS[name]
    length = len(next(iter(columns.values()))) if columns else 0
    arrays = [
        pa.array(columns[field.name], type=field.type)
        if field.name in columns
        else pa.nulls(length, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)
