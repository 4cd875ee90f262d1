"""The Parquet lake: ``<lake>/<table>/date=YYYY-MM-DD/part-<key>.parquet`` (zstd).

Idempotency: every file a source writes is named by a key derived from (kind, source), so a
re-ingest of the same source replaces exactly the slices that source wrote before and nothing
else. Atomicity: rows are staged into hidden temp files beside their final names (same
filesystem) and only renamed into place on commit; an abort — or a crash — leaves the previous
files untouched (a crash leaves at most hidden ``.tmp`` files, which every reader ignores and
the next commit of that source removes).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opsledger.contract import PARTITION_COLUMN, SCHEMAS

COMPRESSION = "zstd"


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
            writer = pq.ParquetWriter(tmp, SCHEMAS[table], compression=COMPRESSION)
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
