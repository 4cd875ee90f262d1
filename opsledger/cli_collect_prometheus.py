"""``opsledger collect prometheus``: pull configured queries from a live Prometheus into the lake."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from opsledger.cli_collect_options import check_range, configured, name_option, range_options, settings_option
from opsledger.settings import Settings


@click.command("prometheus")
@settings_option("prometheus", "one server and its queries")
@name_option
@range_options
def prometheus(
    settings_path: Path | None, name: str | None, start: datetime | None, end: datetime | None
) -> None:
    """Collect the configured PromQL queries for [START, END) into metric_samples, one UTC day at a
    time; each day is committed whole and only then advances the watermark."""
    from opsledger import warehouse
    from opsledger.live_metrics import load_settings

    settings = Settings()
    check_range(start, end)
    for prom in configured(settings, "prometheus", name, settings_path, load_settings):
        _collect(settings, prom, start, end)
    warehouse.refresh_views_at(settings.warehouse_path, settings.lake_dir)


def _collect(settings: Settings, prom, start: datetime | None, end: datetime | None) -> None:
    from opsledger.live_metrics import collect_metrics
    from opsledger.progress import record_progress

    with record_progress() as bar:
        tasks: dict = {}

        def show(day, n):
            if day not in tasks:
                tasks[day] = bar.add_task(f"{prom.source} {day.isoformat()}", total=None)
            bar.update(tasks[day], completed=n)

        result = collect_metrics(settings, prom, start, end, progress=show)
    retried = f", {result.retries} retried request(s)" if result.retries else ""
    click.echo(
        f"{result.source}: {len(result.batches)} day(s) "
        f"[{result.start.isoformat()}, {result.end.isoformat()}), "
        f"{result.rows_written} samples stored, {result.rows_quarantined} quarantined{retried}"
    )
