"""Checks on the raw tables: every batch accounted for, and no timestamps from the future.

They read the lake through an in-memory DuckDB, never the warehouse file: checks of different
kinds may run in parallel with each other and with the warehouse writer.
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb

from assets.ingest.assets import raw_keys
from opsledger import lake as lake_io
from opsledger.contract import INGEST_KINDS, PARTITION_COLUMN
from pipelines.resources import LakeResource

# Sources' clocks drift a little from ours; a sample a few minutes ahead is not an error.
CLOCK_SKEW = timedelta(minutes=5)
_SHOWN = 10  # mismatches listed in the check's metadata

_BATCHES = """
select
    count(*) as batches,
    count(*) filter (where rows_read <> rows_written + rows_quarantined) as unbalanced
from read_parquet($batches, union_by_name = true)
where target_table = $kind
"""

# The lake holds exactly what the latest successful batch of a source wrote (a re-ingest replaces
# the source's files; a failed batch leaves them untouched), so that batch's counts must match.
_LATEST = """
select source, arg_max(rows_written, batch_id), arg_max(rows_quarantined, batch_id)
from read_parquet($batches, union_by_name = true)
where target_table = $kind and status = 'succeeded'
group by source
"""

_STORED = "select source, count(*) from read_parquet($files, union_by_name = true) group by source"

_QUARANTINED = """
select source, count(*)
from read_parquet($files, union_by_name = true)
where target_table = $kind
group by source
"""


def accounting(con: duckdb.DuckDBPyConnection, lake_dir: Path, kind: str) -> dict:
    """Balance of every batch of ``kind`` and, per source, lake rows against the latest batch."""
    if not lake_io.has_files(lake_dir, "ingest_batches"):
        return {"batches": 0, "unbalanced": 0, "mismatches": []}
    batches_glob = lake_io.table_glob(lake_dir, "ingest_batches")
    batches, unbalanced = con.execute(_BATCHES, {"batches": batches_glob, "kind": kind}).fetchall()[0]
    latest = {
        s: (w, q) for s, w, q in con.execute(_LATEST, {"batches": batches_glob, "kind": kind}).fetchall()
    }
    mismatches: list[str] = []
    quarantined = _counts(con, lake_dir, "quarantine", _QUARANTINED, {"kind": kind})
    mismatches += _compare("quarantine", {s: q for s, (_, q) in latest.items()}, quarantined)
    # A directory batch counts LDIF entries, which fan out into three tables: only its balance
    # and its quarantine are comparable.
    if len(INGEST_KINDS[kind]) == 1:
        table = INGEST_KINDS[kind][0]
        stored = _counts(con, lake_dir, table, _STORED, {})
        mismatches += _compare(table, {s: w for s, (w, _) in latest.items()}, stored)
    return {"batches": batches, "unbalanced": unbalanced, "mismatches": mismatches}


def _counts(con: duckdb.DuckDBPyConnection, lake_dir: Path, table: str, query: str, params: dict) -> dict:
    if not lake_io.has_files(lake_dir, table):
        return {}
    return dict(con.execute(query, {"files": lake_io.table_glob(lake_dir, table), **params}).fetchall())


def _compare(table: str, expected: dict[str, int], stored: dict[str, int]) -> list[str]:
    return [
        f"{table} {source}: batch says {expected.get(source, 0)}, lake has {stored.get(source, 0)}"
        for source in sorted(expected.keys() | stored.keys())
        if expected.get(source, 0) != stored.get(source, 0)
    ]


def future_rows(
    con: duckdb.DuckDBPyConnection, lake_dir: Path, table: str, now: datetime
) -> tuple[int, object]:
    """Rows of ``table`` stamped after ``now`` (+ clock skew), and the latest stamp among them.

    The lake partitions every table by the UTC date of this very column, so such rows can only be in
    the folders of today and later: only those are read, however long the history grows."""
    column = PARTITION_COLUMN[table]  # an identifier from the contract's allow-list
    limit = now + CLOCK_SKEW
    files = [
        str(path)
        for folder in sorted((lake_dir / table).glob("date=*"))
        if _folder_day(folder) >= limit.date()
        for path in sorted(folder.glob("*.parquet"))
    ]
    if not files:
        return 0, None
    query = (
        f"select count(*), max({column}) from read_parquet($files, union_by_name = true) "
        f"where {column} > $limit"
    )
    count, latest = con.execute(query, {"files": files, "limit": limit}).fetchall()[0]
    return count, latest


def _folder_day(folder: Path) -> date:
    return date.fromisoformat(folder.name.removeprefix("date="))


def build_ingest_checks(kind: str) -> dg.AssetChecksDefinition:
    keys = raw_keys(kind)
    specs = [
        dg.AssetCheckSpec(
            "ingest_accounting_balances",
            asset=key,
            description="Every ingest batch balances (rows read = rows written + rows quarantined), and the "
            "lake holds exactly what each source's latest successful batch stored.",
        )
        for key in keys
    ] + [
        dg.AssetCheckSpec(
            "no_future_timestamps",
            asset=key,
            description=f"No row is stamped later than now (+{int(CLOCK_SKEW.total_seconds() // 60)} min of "
            "clock skew): a future timestamp means a wrong clock or a misread time zone at the source.",
        )
        for key in keys
    ]

    @dg.multi_asset_check(name=f"check_{kind}", specs=specs)
    def _checks(lake: LakeResource):
        now = datetime.now(UTC)
        con = duckdb.connect()
        try:
            result = accounting(con, lake.path, kind)
            passed = result["unbalanced"] == 0 and not result["mismatches"]
            for key in keys:
                yield dg.AssetCheckResult(
                    asset_key=key,
                    check_name="ingest_accounting_balances",
                    passed=passed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "batches": result["batches"],
                        "unbalanced_batches": result["unbalanced"],
                        "mismatched_sources": len(result["mismatches"]),
                        "mismatches": dg.MetadataValue.md(
                            "\n".join(f"* {m}" for m in result["mismatches"][:_SHOWN]) or "_none_"
                        ),
                    },
                )
            for table, key in zip(INGEST_KINDS[kind], keys, strict=True):
                count, latest = future_rows(con, lake.path, table, now)
                yield dg.AssetCheckResult(
                    asset_key=key,
                    check_name="no_future_timestamps",
                    passed=count == 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"future_rows": count, "latest_future": str(latest) if latest else "none"},
                )
        finally:
            con.close()

    return _checks


def ingest_checks() -> list[dg.AssetChecksDefinition]:
    return [build_ingest_checks(kind) for kind in INGEST_KINDS]
