"""Collect logs, audit events and product events from Elasticsearch, one UTC day at a time.

Each (target table, day) is one batch committed whole, and only then advances that target's
watermark (``opsledger.live_days``), so a failed or interrupted collection resumes from the last
complete day and never skips data.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from collectors.elasticsearch_live import (
    ElasticsearchError,
    ElasticsearchSettings,
    PageMapper,
    SearchClient,
    SearchTarget,
    collect,
)
from opsledger import live_days
from opsledger.ingest import BatchResult
from opsledger.live_days import BatchTotals, utc
from opsledger.settings import Settings

__all__ = ["Collection", "DayProgress", "collect_events", "load_settings"]

DayProgress = Callable[[str, date, int], None]  # (table, day, documents read so far that day)


@dataclass(frozen=True)
class Collection(BatchTotals):
    source: str
    table: str
    start: datetime
    end: datetime
    batches: list[BatchResult]


def load_settings(path: Path) -> ElasticsearchSettings:
    """A YAML file of ``ElasticsearchSettings``; errors name the file and the field."""
    return live_days.load_settings(path, ElasticsearchSettings, "Elasticsearch collection settings")


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
    end = utc(end) if end else datetime.now(UTC)
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
    missing = ElasticsearchError(
        f"{source}: {table}: nothing collected yet, so there is no watermark: give a start time"
    )
    start = live_days.first_day_start(settings, source, table, start, missing)
    # One mapping connection for every day of the target (opening one costs ~16 ms).
    with closing(PageMapper(target, source)) as mapper:
        batches = live_days.collect_days(
            settings,
            source,
            table,
            start,
            end,
            lambda day_start, day_end: collect(es, target, day_start, day_end, client=client, mapper=mapper),
            label=f"{source} {table}",
            progress=(lambda d, n: progress(table, d, n)) if progress else None,
        )
    return Collection(source, table, start, end, batches)
