"""Collect metrics from a live Prometheus into the lake, one UTC day partition at a time.

Each day is one accounted batch (``ingest_batches``, kind ``metric_samples``, source
``prometheus:<name>``) written to the lake atomically under a key of (source, day), so a day is
committed whole or not at all and a re-run replaces exactly that day. The watermark moves to the
end of a day only after the day is committed: a failed or interrupted collection resumes from the
last complete day and never skips data.

A collection always starts at 00:00 UTC of its first day, even when the range (or the watermark)
starts later: the day's lake slice is replaced as a whole, so collecting only its tail would drop
the head that an earlier run stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import ValidationError

from collectors.prometheus_live import PrometheusClient, PrometheusError, PrometheusSettings, collect
from opsledger import lake, watermarks
from opsledger.errors import ConfigError
from opsledger.ingest import BatchResult, ingest_chunks
from opsledger.settings import Settings

TARGET = "metric_samples"
DayProgress = Callable[[date, int], None]  # (day, samples read so far in that day)


@dataclass(frozen=True)
class Collection:
    source: str
    start: datetime
    end: datetime
    batches: list[BatchResult]
    retries: int

    @property
    def rows_written(self) -> int:
        return sum(b.rows_written for b in self.batches)

    @property
    def rows_quarantined(self) -> int:
        return sum(b.rows_quarantined for b in self.batches)


def load_settings(path: Path) -> PrometheusSettings:
    """A YAML file of ``PrometheusSettings``; errors name the file and the field."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (Prometheus collection settings)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    try:
        return PrometheusSettings.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
        raise ConfigError(f"{path}: {field or 'settings'}: {error['msg']}") from None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_key(source: str, day: date) -> str:
    return lake.source_key(TARGET, f"{source}@{day.isoformat()}")


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
    end = _utc(end) if end else datetime.now(UTC)
    if start is None:
        start = watermarks.get(settings.home_dir, source, TARGET)
        if start is None:
            raise PrometheusError(
                f"{source}: nothing collected yet, so there is no watermark: give a start time"
            )
    start = _utc(start)
    first_day = start.date()
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    own = client is None
    client = client or PrometheusClient(prometheus)
    batches: list[BatchResult] = []
    try:
        day_start = start
        while day_start < end:
            day = day_start.date()
            day_end = min(day_start + timedelta(days=1), end)
            batches.append(
                ingest_chunks(
                    settings.lake_dir,
                    TARGET,
                    source,
                    collect(prometheus, day_start, day_end, client=client),
                    label=f"{source} {day.isoformat()}",
                    progress=(lambda n, d=day: progress(d, n)) if progress else None,
                    key=day_key(source, day),
                )
            )
            watermarks.advance(settings.home_dir, source, TARGET, day_end)
            day_start = day_end
    finally:
        if own:
            client.close()
    return Collection(source, start, end, batches, client.retries_done)
