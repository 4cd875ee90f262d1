"""The per-UTC-day collection loop the live collectors share: collect a day, commit it, advance.

Each (source, table, day) is one accounted batch written to the lake atomically under its own key,
so a day is committed whole or not at all and a re-run replaces exactly that day. The watermark
moves to the end of a day only after the day is committed: a failed or interrupted collection
resumes from the last complete day and never skips data.

A collection starts at 00:00 UTC of its first day even when the range (or the watermark) starts
later: the day's lake slice is replaced as a whole, so collecting only its tail would drop the head
an earlier run stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from collectors.base import Chunk
from opsledger import lake, watermarks
from opsledger.config import field_error, read_yaml
from opsledger.errors import ConfigError, OpsledgerError
from opsledger.ingest import BatchResult, ingest_chunks
from opsledger.settings import Settings

M = TypeVar("M", bound=BaseModel)


class BatchTotals:
    """Row totals of a collection's ``batches``."""

    batches: list[BatchResult]

    @property
    def rows_written(self) -> int:
        return sum(b.rows_written for b in self.batches)

    @property
    def rows_quarantined(self) -> int:
        return sum(b.rows_quarantined for b in self.batches)


def load_settings(path: Path, model: type[M], what: str) -> M:
    """A YAML file of ``model``; errors name the file and the field."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file ({what})")
    text = path.read_text(encoding="utf-8")
    try:
        return model.model_validate(read_yaml(path, text))
    except ValidationError as exc:
        raise field_error(path, text, exc.errors()[0]) from None


def utc(moment: datetime) -> datetime:
    """Naive times are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_key(source: str, table: str, day: date) -> str:
    return lake.source_key(table, f"{source}@{day.isoformat()}")


def first_day_start(
    settings: Settings, source: str, table: str, start: datetime | None, missing: OpsledgerError
) -> datetime:
    """00:00 UTC of the day of ``start`` (default: the watermark; ``missing`` is raised without one)."""
    if start is None:
        start = watermarks.get(settings.home_dir, source, table)
        if start is None:
            raise missing
    first_day = utc(start).date()
    return datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)


def collect_days(
    settings: Settings,
    source: str,
    table: str,
    start: datetime,
    end: datetime,
    collect: Callable[[datetime, datetime], Iterable[Chunk]],
    *,
    label: str,
    progress: Callable[[date, int], None] | None = None,
) -> list[BatchResult]:
    """Commit ``collect(day_start, day_end)`` for each UTC day in [start, end), each followed by
    moving the watermark to its end; ``label`` prefixes the day in a batch's label."""
    batches: list[BatchResult] = []
    day_start = start
    while day_start < end:
        day = day_start.date()
        day_end = min(day_start + timedelta(days=1), end)
        batches.append(
            ingest_chunks(
                settings.lake_dir,
                table,
                source,
                collect(day_start, day_end),
                label=f"{label} {day.isoformat()}",
                progress=(lambda n, d=day: progress(d, n)) if progress else None,
                key=day_key(source, table, day),
            )
        )
        watermarks.advance(settings.home_dir, source, table, day_end)
        day_start = day_end
    return batches
