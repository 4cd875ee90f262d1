"""Raw ingest assets: each configured source's files for the run's days, into the Parquet lake.

One asset per ingest kind (the directory kind is one multi-asset for its three tables), daily
partitions, single-run backfills: a backfill of a month is one run that loops over the days,
instead of thirty runs that each pay Dagster's start-up. Ingest writes Parquet only, never
DuckDB, so these assets may run in parallel; the warehouse views asset is the one DuckDB writer
of this domain and sits in the ``duckdb`` pool.

No ``from __future__ import annotations`` in asset modules: Dagster inspects the real types of
``context`` and resource parameters.
"""

from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from assets import PREVIEW_ROWS, preview_markdown
from opsledger import lake as lake_io
from opsledger.contract import INGEST_KINDS, SCHEMAS
from opsledger.errors import OpsledgerError
from opsledger.ingest import BatchResult, ingest_day
from opsledger.warehouse import refresh_views
from pipelines.partitions import days_in
from pipelines.resources import DUCKDB_POOL, LakeResource, WarehouseResource

# The domain of each ingest kind: the middle part of its asset keys.
DOMAINS: dict[str, str] = {
    "metric_samples": "metrics",
    "log_records": "logs",
    "audit_events": "audit",
    "directory": "directory",
    "test_results": "tests",
    "product_events": "events",
}

# Business meaning of each raw table; becomes the asset description in the Dagster UI.
DESCRIPTIONS: dict[str, str] = {
    "metric_samples": "Every Prometheus/OpenMetrics sample our services exposed (request counters, latency "
    "histograms, up), stored raw with counter resets intact: the evidence behind SLOs and service traffic.",
    "log_records": "Application log lines (ECS, structlog, docker json-file) with service, level, trace and "
    "HTTP fields: what each service said while serving users.",
    "audit_events": "Who did what to which resource and with what outcome (logins, role grants, deploys, "
    "maintenance): the trail auditors sample for access and change-management controls.",
    "directory_users": "Daily LDAP snapshot of people accounts (uid, mail, enabled): who could sign in "
    "that day.",
    "directory_groups": "Daily LDAP snapshot of groups: the roles and tenants access is granted through.",
    "directory_memberships": "Daily LDAP snapshot of group membership: who held which role that day.",
    "test_results": "Every test result of every CI run (Playwright, JUnit) with retry, outcome and commit: "
    "the test evidence behind change management and flaky-test tracking.",
    "product_events": "Product analytics events (PostHog shape) per person and session: the steps of the "
    "customer journeys that funnels are built from.",
}


def raw_key(table: str) -> dg.AssetKey:
    kind = next(k for k, tables in INGEST_KINDS.items() if table in tables)
    return dg.AssetKey(["raw", DOMAINS[kind], table])


def raw_keys(kind: str) -> list[dg.AssetKey]:
    return [raw_key(table) for table in INGEST_KINDS[kind]]


def ingest_days(
    context: dg.AssetExecutionContext, lake: LakeResource, kind: str
) -> tuple[list[BatchResult], list[date]]:
    """Ingest the files of every source of ``kind`` for each day of the run (``ingest_day`` names
    each file's rows as the CLI does, so either path replaces, never duplicates, the other's)."""
    days = days_in(context.partition_keys)
    config = lake.load_config()
    results: list[BatchResult] = []
    failures: list[str] = []
    for day in days:
        try:
            results.extend(ingest_day(lake.path, config, kind, day))
        except OpsledgerError as exc:
            # Keep going with the other days, then fail the step so the bad file is seen.
            failures.append(f"{day}: {exc}")
            context.log.error(failures[-1])
    if failures:
        raise dg.Failure(
            description=f"{kind}: {len(failures)} of {len(days)} day(s) failed; first: {failures[0]}",
            metadata={"errors": dg.MetadataValue.md("\n".join(f"* {f}" for f in failures))},
        )
    if not results:
        context.log.warning(f"{kind}: no source file matches {_span(days)}; nothing ingested")
    return results, days


def materialization_metadata(
    lake_dir: Path, kind: str, table: str, results: list[BatchResult], days: list[date]
) -> dict[str, object]:
    files = {t: _stored_files(lake_dir, kind, t, results) for t in INGEST_KINDS[kind]}
    rows_per_table = {
        t: sum(pq.ParquetFile(f).metadata.num_rows for f in found) for t, found in files.items()
    }
    return {
        "partitions": _span(days),
        "files": len(results),
        "rows_read": sum(r.rows_read for r in results),
        "rows_written": sum(r.rows_written for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "rows": rows_per_table[table],
        "rows_per_table": dg.MetadataValue.json(rows_per_table),
        "preview": dg.MetadataValue.md(preview_markdown(_first_rows(files[table]))),
    }


def _stored_files(lake_dir: Path, kind: str, table: str, results: list[BatchResult]) -> list[Path]:
    """The lake files this run's batches now own in ``table``. Rows are counted from their Parquet
    footers: a source's files hold exactly what its latest batch wrote (opsledger.lake)."""
    keys = {lake_io.source_key(kind, r.source) for r in results if r.status == "succeeded"}
    return sorted(path for key in keys for path in (lake_dir / table).glob(f"date=*/part-{key}.parquet"))


def _first_rows(files: list[Path]) -> pa.Table | None:
    for path in files:
        batch = next(pq.ParquetFile(path).iter_batches(batch_size=PREVIEW_ROWS), None)
        if batch is not None:
            return pa.Table.from_batches([batch])
    return None


def _span(days: list[date]) -> str:
    if not days:
        return "(none)"
    return days[0].isoformat() if len(days) == 1 else f"{min(days).isoformat()}…{max(days).isoformat()}"


def build_ingest_asset(kind: str, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    tables = INGEST_KINDS[kind]
    specs = [
        dg.AssetSpec(
            raw_key(table),
            description=DESCRIPTIONS[table],
            group_name="raw",
            kinds={"parquet"},
            tags={"domain": DOMAINS[kind]},
        )
        for table in tables
    ]

    @dg.multi_asset(
        name=f"ingest_{kind}",
        specs=specs,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=f"Ingest {kind} files of every configured source for the run's days.",
    )
    def _ingest(context: dg.AssetExecutionContext, lake: LakeResource):
        results, days = ingest_days(context, lake, kind)
        for table in tables:
            yield dg.MaterializeResult(
                asset_key=raw_key(table),
                metadata=materialization_metadata(lake.path, kind, table, results, days),
            )

    return _ingest


RAW_KEYS: list[dg.AssetKey] = [raw_key(table) for tables in INGEST_KINDS.values() for table in tables]
VIEWS_KEY = dg.AssetKey(["warehouse", "views"])


@dg.asset(
    key=VIEWS_KEY,
    deps=RAW_KEYS,
    group_name="warehouse",
    kinds={"duckdb"},
    pool=DUCKDB_POOL,
)
def warehouse_views(warehouse: WarehouseResource, lake: LakeResource) -> dg.MaterializeResult:
    """The stable table names of the data contract (metric_samples, log_records, …) as DuckDB views
    over the lake, so SQL users, dashboards and marts read every raw table by name. A table without
    data yet is an empty, typed view."""
    with warehouse.connect() as con:
        refresh_views(con, lake.path)
        # Names come from the contract's allow-list; count(*) over Parquet reads only footers.
        counts = {table: con.execute(f"select count(*) from {table}").fetchall()[0][0] for table in SCHEMAS}
    return dg.MaterializeResult(
        metadata={
            "views": len(counts),
            "rows_per_view": dg.MetadataValue.json(counts),
            "warehouse": dg.MetadataValue.path(warehouse.warehouse_path),
        }
    )
