"""Run a file collector into the lake as one accounted, atomic batch.

Every batch records ``rows_read = rows_written + rows_quarantined`` in ``ingest_batches``;
bad records land in ``quarantine`` with their reason and position. A re-ingest of the same
source replaces what that source wrote before (see ``opsledger.lake``), so counts in the data
tables and in quarantine are unchanged by a re-run; ``ingest_batches`` keeps every run.
"""

from __future__ import annotations

import glob
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from collectors import reader_for
from collectors.base import Chunk, FormatError, Reject
from opsledger import lake
from opsledger.config import OpsledgerConfig
from opsledger.contract import INGEST_KINDS, PARTITION_COLUMN, table_from_pydict
from opsledger.errors import OpsledgerError

Progress = Callable[[int], None]  # called with the number of records read so far in a file


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    kind: str
    source: str
    rows_read: int
    rows_written: int
    rows_quarantined: int
    rows_per_table: dict[str, int]
    watermark: datetime | None
    status: str
    error: str | None = None


def new_batch_id(now: datetime) -> str:
    # Time-ordered, so `order by batch_id` is the order batches ran in.
    return f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def ingest_file(
    lake_dir: Path,
    kind: str,
    path: Path,
    *,
    source: str | None = None,
    observed_at: datetime | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Ingest one file of ``kind``; raises ``OpsledgerError`` (after recording the failed batch)
    when the file cannot be read at all. The lake is unchanged by a failed batch."""
    if kind not in INGEST_KINDS:
        raise OpsledgerError(f"unknown table {kind!r}; expected one of {', '.join(INGEST_KINDS)}")
    path = Path(path)
    if not path.is_file():
        raise OpsledgerError(f"{path}: no such file")
    source = source or str(path.resolve())

    def chunks() -> Iterator[Chunk]:
        # Some readers check the file when called, not when iterated: keep that inside the batch.
        yield from reader_for(kind)(path, source=source, observed_at=observed_at)

    return ingest_chunks(lake_dir, kind, source, chunks(), label=str(path), progress=progress)


def ingest_chunks(
    lake_dir: Path,
    kind: str,
    source: str,
    chunks: Iterable[Chunk],
    *,
    label: str,
    progress: Progress | None = None,
    key: str | None = None,
) -> BatchResult:
    """Stage the chunks of one input (a file, a live snapshot) and commit them as one batch.

    ``label`` names the input in errors of unexpected kinds; ``key`` (default: derived from
    kind and source) names the lake slices the batch replaces. On any error nothing is stored,
    the failed batch is recorded, and the error is raised (``OpsledgerError`` for user errors)."""
    started = datetime.now(UTC)
    batch_id = new_batch_id(started)
    key = key or lake.source_key(kind, source)
    data = lake.StagedWrite(lake_dir, key, INGEST_KINDS[kind])
    quarantine = lake.StagedWrite(lake_dir, key, ("quarantine",), file_prefix=f"q-{kind}")
    accepted = rejected = 0
    watermark: datetime | None = None
    try:
        for chunk in chunks:
            for table, rows in chunk.tables.items():
                data.write(table, rows)
                watermark = _later(watermark, rows, PARTITION_COLUMN[table])
            if chunk.rejects:
                quarantine.write(
                    "quarantine", _quarantine_rows(chunk.rejects, started, batch_id, kind, source)
                )
            accepted += chunk.accepted
            rejected += len(chunk.rejects)
            if progress:
                progress(accepted + rejected)
        rows_per_table = data.rows_per_table()
        data.commit()
        quarantine.commit()
    except Exception as exc:
        data.abort()
        quarantine.abort()
        message = str(exc) if isinstance(exc, FormatError | OpsledgerError) else f"{label}: {exc!r}"
        # Nothing of a failed batch is stored, so it balances at 0 = 0 + 0; how far it got is in the error.
        error = f"{message} (after {accepted + rejected} records; nothing stored)"
        _record(lake_dir, batch_id, kind, source, started, 0, 0, 0, None, "failed", error)
        if isinstance(exc, FormatError | OpsledgerError):
            raise OpsledgerError(message) from exc
        raise
    _record(
        lake_dir,
        batch_id,
        kind,
        source,
        started,
        accepted + rejected,
        accepted,
        rejected,
        watermark,
        "succeeded",
    )
    return BatchResult(
        batch_id,
        kind,
        source,
        accepted + rejected,
        accepted,
        rejected,
        rows_per_table,
        watermark,
        "succeeded",
    )


def _later(current: datetime | None, rows: pa.Table, column: str) -> datetime | None:
    latest = pc.max(rows[column]).as_py() if rows.num_rows else None
    if latest is None:
        return current
    return latest if current is None or latest > current else current


def _quarantine_rows(rejects: list[Reject], at: datetime, batch_id: str, kind: str, source: str) -> pa.Table:
    n = len(rejects)
    return table_from_pydict(
        "quarantine",
        {
            "ingested_at": [at] * n,
            "batch_id": [batch_id] * n,
            "target_table": [kind] * n,
            "source": [source] * n,
            "reason": [r.reason for r in rejects],
            "raw": [r.raw for r in rejects],
            "position": [r.position for r in rejects],
        },
    )


def _record(
    lake_dir, batch_id, kind, source, started, read, written, quarantined, watermark, status, error=None
):
    row = table_from_pydict(
        "ingest_batches",
        {
            "batch_id": [batch_id],
            "target_table": [kind],
            "source": [source],
            "started_at": [started],
            "finished_at": [datetime.now(UTC)],
            "rows_read": [read],
            "rows_written": [written],
            "rows_quarantined": [quarantined],
            "watermark": [watermark],
            "status": [status],
            "error": [error],
        },
    )
    lake.write_atomic(
        lake.partition_dir(lake_dir, "ingest_batches", started.date()) / f"batch-{batch_id}.parquet", row
    )


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, inside folders (recursively), or matched by glob patterns."""
    found: list[Path] = []
    for item in paths:
        text = str(item)
        candidate = Path(text)
        if candidate.is_dir():
            found.extend(
                sorted(p for p in candidate.rglob("*") if p.is_file() and not p.name.startswith("."))
            )
        elif candidate.exists():
            found.append(candidate)
        else:
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            if not matches:
                raise OpsledgerError(f"{text}: no such file or folder")
            found.extend(matches)
    return found


def day_start(day: date) -> datetime:
    """The observation time used for a daily file without its own timestamps (e.g. an LDIF snapshot)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def ingest_day(lake_dir: Path, config: OpsledgerConfig, kind: str, day: date) -> list[BatchResult]:
    """Ingest every file of every configured source of ``kind`` for one partition day.

    Each file's rows are recorded under ``<source name>:<path relative to the config>``, so
    re-running a day replaces exactly what that day's files wrote before. A file that cannot be
    read does not stop the others; the failures are raised together at the end."""
    results, failures = [], []
    for source in config.sources_of(kind):
        for match in sorted(glob.glob(config.resolve(source, day))):
            path = Path(match)
            if not path.is_file():
                continue
            name = f"{source.name}:{_relative(path, config.base_dir)}"
            try:
                results.append(ingest_file(lake_dir, kind, path, source=name, observed_at=day_start(day)))
            except OpsledgerError as exc:
                failures.append(str(exc))
    if failures:
        more = f" (and {len(failures) - 1} more file(s))" if len(failures) > 1 else ""
        raise OpsledgerError(f"{failures[0]}{more}")
    return results


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path.resolve())
