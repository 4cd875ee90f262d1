"""The Parquet lake: ``<lake>/<table>/date=YYYY-MM-DD/part-<key>.parquet`` (zstd).

Idempotency: every file a source writes is named by a key derived from (kind, source), so a
re-ingest of the same source replaces exactly the slices that source wrote before and nothing
else. Atomicity: rows are staged into hidden temp files beside their final names (same
filesystem) and only renamed into place on commit; an abort — or a crash — leaves the previous
files untouched (a crash leaves at most hidden ``.tmp`` files, which every reader ignores and
the next commit of that source removes).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opsledger.contract import PARTITION_COLUMN, SCHEMAS

COMPRESSION = "zstd"
# Columns whose values are nearly all distinct. For them Parquet's writer builds a dictionary and
# abandons it in every row group, and min/max statistics of free text or JSON never prune a read;
# skipping both cut the benchmark's write CPU by ~15% (and the files by ~7%). Timestamps are
# not dictionary-encoded either, but keep their statistics: readers prune row groups by time.
FREE_TEXT_COLUMNS = frozenset({"attributes", "details", "properties", "raw", "message", "error_message"})
DISTINCT_COLUMNS = FREE_TEXT_COLUMNS | {"trace_id", "span_id", "correlation_id", "duration_ms"}


def source_key(kind: str, source: str) -> str:
    return hashlib.sha256(f"{kind}\0{source}".encode()).hexdigest()[:20]


def partition_dir(lake_dir: Path, table: str, day: date) -> Path:
    return lake_dir / table / f"date={day.isoformat()}"


def table_glob(lake_dir: Path, table: str) -> str:
    return str(lake_dir / table / "date=*" / "*.parquet")


def has_files(lake_dir: Path, table: str) -> bool:
    return any((lake_dir / table).glob("date=*/*.parquet"))


@dataclass
class _Staged:
    tmp: Path
    final: Path
    writer: pq.ParquetWriter
    rows: int = 0


@dataclass
class StagedWrite:
    """Rows of one source for one or more tables, staged per (table, day) until ``commit``."""

    lake_dir: Path
    key: str
    tables: tuple[str, ...]  # every table this source owns slices of (stale slices are removed)
    file_prefix: str = "part"
    _staged: dict[tuple[str, date], _Staged] = field(default_factory=dict)

    def write(self, table: str, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        rows = rows.cast(SCHEMAS[table])
        days = pc.cast(rows[PARTITION_COLUMN[table]], pa.date32())
        if days.null_count:
            raise ValueError(f"{table}: {days.null_count} row(s) without {PARTITION_COLUMN[table]}")
        first, last = pc.min_max(days).values()
        if first == last:  # the usual case (sources write in time order): no copy needed
            self._append(table, first.as_py(), rows)
            return
        for day in pc.unique(days).to_pylist():
            self._append(table, day, rows.filter(pc.equal(days, pa.scalar(day, pa.date32()))))

    def _append(self, table: str, day: date, rows: pa.Table) -> None:
        staged = self._slice(table, day)
        staged.writer.write_table(rows)
        staged.rows += rows.num_rows

    def _slice(self, table: str, day: date) -> _Staged:
        staged = self._staged.get((table, day))
        if staged is None:
            folder = partition_dir(self.lake_dir, table, day)
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / f"{self.file_prefix}-{self.key}.parquet"
            tmp = folder / f".{final.name}.{os.getpid()}.{id(self)}.tmp"
            writer = pq.ParquetWriter(tmp, SCHEMAS[table], compression=COMPRESSION, **writer_options(table))
            staged = self._staged[(table, day)] = _Staged(tmp, final, writer)
        return staged

    def rows_per_table(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (table, _), staged in self._staged.items():
            totals[table] = totals.get(table, 0) + staged.rows
        return totals

    def commit(self) -> None:
        """Publish every staged slice, then drop this source's slices that the new write lacks."""
        for staged in self._staged.values():
            staged.writer.close()
        for staged in self._staged.values():
            _fsync(staged.tmp)
            os.replace(staged.tmp, staged.final)
        published = {s.final for s in self._staged.values()}
        for table in self.tables:
            for old in (self.lake_dir / table).glob(f"date=*/{self.file_prefix}-{self.key}.parquet"):
                if old not in published:
                    old.unlink()
            for leftover in (self.lake_dir / table).glob(
                f"date=*/.{self.file_prefix}-{self.key}.parquet.*.tmp"
            ):
                leftover.unlink(missing_ok=True)
        self._staged.clear()

    def abort(self) -> None:
        for staged in self._staged.values():
            try:
                staged.writer.close()
            finally:
                staged.tmp.unlink(missing_ok=True)
        self._staged.clear()


@functools.cache
def writer_options(table: str) -> dict[str, list[str]]:
    """Dictionary encoding and statistics per leaf column of ``table`` (nested columns name their
    leaves, e.g. ``labels.key_value.key``, so the options are given by leaf path)."""
    schema = SCHEMAS[table]
    buf = io.BytesIO()
    pq.write_table(schema.empty_table(), buf)
    leaves = [column.path for column in pq.ParquetFile(buf).schema]
    timestamps = {f.name for f in schema if pa.types.is_timestamp(f.type)}

    def top(leaf: str) -> str:
        return leaf.split(".", 1)[0]

    return {
        "use_dictionary": [c for c in leaves if top(c) not in DISTINCT_COLUMNS | timestamps],
        "write_statistics": [c for c in leaves if top(c) not in FREE_TEXT_COLUMNS],
    }


def write_atomic(path: Path, rows: pa.Table) -> None:
    """Write one small Parquet file all at once (temp name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(rows, tmp, compression=COMPRESSION)
    _fsync(tmp)
    os.replace(tmp, path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
