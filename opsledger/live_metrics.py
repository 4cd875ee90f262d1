"""Collect metrics from a live Prometheus into the lake, one UTC day partition at a time.

Each day is one accounted batch (``ingest_batches``, kind ``metric_samples``, source
``prometheus:<name>``) committed whole, and only then advances the watermark
(``opsledger.live_days``), so a failed or interrupted collection resumes from the last complete
day and never skips data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from collectors.prometheus_live import PrometheusClient, PrometheusError, PrometheusSettings, collect
from opsledger import live_days
from opsledger.ingest import BatchResult
from opsledger.live_days import BatchTotals, utc
from opsledger.settings import Settings

TARGET = "metric_samples"
DayProgress = Callable[[date, int], None]  # (day, samples read so far in that day)


@dataclass(frozen=True)
class Collection(BatchTotals):
    source: str
    start: datetime
    end: datetime
    batches: list[BatchResult]
    retries: int


def load_settings(path: Path) -> PrometheusSettings:
    """A YAML file of ``PrometheusSettings``; errors name the file and the field."""
    return live_days.load_settings(path, PrometheusSettings, "Prometheus collection settings")


def collect_metrics(
    settings: Settings,
    prometheus: PrometheusSettings,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    progress: DayProgress | None = None,
    client: PrometheusClient | None = None,
) -> Collection:
    """Collect [start, end) (default: the watermark → now); raises ``OpsledgerError`` on failure,
    after committing the days completed before it. Naive times are UTC."""
    source = prometheus.source
    end = utc(end) if end else datetime.now(UTC)
    missing = PrometheusError(f"{source}: nothing collected yet, so there is no watermark: give a start time")
    start = live_days.first_day_start(settings, source, TARGET, start, missing)
    own = client is None
    client = client or PrometheusClient(prometheus)
    try:
        batches = live_days.collect_days(
            settings,
            source,
            TARGET,
            start,
            end,
            lambda day_start, day_end: collect(prometheus, day_start, day_end, client=client),
            label=source,
            progress=progress,
        )
    finally:
        if own:
            client.close()
    return Collection(source, start, end, batches, client.retries_done)
