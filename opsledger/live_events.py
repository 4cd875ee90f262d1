"""Collect logs, audit events and product events from Elasticsearch, one UTC day at a time.

Each (target table, day) is one accounted batch written to the lake atomically under a key of
(source, table, day), so a day is committed whole or not at all and a re-run replaces exactly that
day. A target's watermark moves to the end of a day only after the day is committed: a failed or
interrupted collection resumes from the last complete day and never skips data.

A collection starts at 00:00 UTC of its first day even when the range (or the watermark) starts
later: the day's lake slice is replaced as a whole, so collecting only its tail would drop the head
an earlier run stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import ValidationError

from collectors.elasticsearch_live import (
    ElasticsearchError,
    ElasticsearchSettings,
    SearchClient,
    SearchTarget,
    collect,
)
from opsledger import lake, watermarks
from opsledger.errors import ConfigError
from opsledger.ingest import BatchResult, ingest_chunks
from opsledger.settings import Settings

DayProgress = Callable[[str, date, int], None]  # (table, day, documents read so far that day)


@dataclass(frozen=True)
class Collection:
    source: str
    table: str
    start: datetime
    end: datetime
    batches: list[BatchResult]

    @property
    def rows_written(self) -> int:
        return sum(b.rows_written for b in self.batches)

    @property
    def rows_quarantined(self) -> int:
        return sum(b.rows_quarantined for b in self.batches)


def load_settings(path: Path) -> ElasticsearchSettings:
    """A YAML file of ``ElasticsearchSettings``; errors name the file and the field."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (Elasticsearch collection settings)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    try:
        return ElasticsearchSettings.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
        raise ConfigError(f"{path}: {field or 'settings'}: {error['msg']}") from None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_key(source: str, table: str, day: date) -> str:
    return lake.source_key(table, f"{source}@{day.isoformat()}")


def collect_events(
    settings: Settings,
    es: ElasticsearchSettings,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    tables: list[str] | None = None,
    progress: DayProgress | None = None,
    client: SearchClient | None = None,
) -> list[Collection]:
    """Collect every target (or those of ``tables``) over [start, end) (default: each target's
    watermark → now). Raises ``OpsledgerError`` on failure, after committing the days completed
    before it. Naive times are UTC."""
    end = _utc(end) if end else datetime.now(UTC)
    targets = [t for t in es.targets if tables is None or t.table in tables]
    own = client is None
    client = client or SearchClient(es)
    try:
        return [_collect_target(settings, es, target, start, end, progress, client) for target in targets]
    finally:
        if own:
            client.close()


def _collect_target(
    settings: Settings,
    es: ElasticsearchSettings,
    target: SearchTarget,
    start: datetime | None,
    end: datetime,
    progress: DayProgress | None,
    client: SearchClient,
) -> Collection:
    source, table = es.source, target.table
    if start is None:
        start = watermarks.get(settings.home_dir, source, table)
        if start is None:
            raise ElasticsearchError(
                f"{source}: {table}: nothing collected yet, so there is no watermark: give a start time"
            )
    first_day = _utc(start).date()
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
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
                collect(es, target, day_start, day_end, client=client),
                label=f"{source} {table} {day.isoformat()}",
                progress=(lambda n, d=day: progress(table, d, n)) if progress else None,
                key=day_key(source, table, day),
            )
        )
        watermarks.advance(settings.home_dir, source, table, day_end)
        day_start = day_end
    return Collection(source, table, start, end, batches)
