"""``opsledger collect elasticsearch``: pull logs, audit and product events from Elasticsearch."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from opsledger.cli_collect_options import check_range, configured, name_option, range_options, settings_option
from opsledger.settings import Settings

TABLES = ("log_records", "audit_events", "product_events")


@click.command("elasticsearch")
@settings_option("elasticsearch", "one cluster and its targets")
@name_option
@range_options
@click.option(
    "--table", "tables", multiple=True, type=click.Choice(TABLES), help="Only these targets (repeatable)."
)
def elasticsearch(
    settings_path: Path | None,
    name: str | None,
    start: datetime | None,
    end: datetime | None,
    tables: tuple[str, ...],
) -> None:
    """Collect the configured index patterns for [START, END) into their tables, one UTC day at a
    time; each day is committed whole and only then advances the target's watermark."""
    from opsledger import warehouse
    from opsledger.live_events import load_settings

    settings = Settings()
    check_range(start, end)
    for es in configured(settings, "elasticsearch", name, settings_path, load_settings):
        _collect(settings, es, start, end, list(tables) or None)
    warehouse.refresh_views_at(settings.warehouse_path, settings.lake_dir)


def _collect(settings: Settings, es, start: datetime | None, end: datetime | None, tables: list[str] | None):
    from opsledger.live_events import collect_events
    from opsledger.progress import record_progress

    with record_progress() as bar:
        tasks: dict = {}

        def show(table, day, n):
            if (table, day) not in tasks:
                tasks[table, day] = bar.add_task(f"{es.source} {table} {day.isoformat()}", total=None)
            bar.update(tasks[table, day], completed=n)

        results = collect_events(settings, es, start, end, tables=tables, progress=show)
    for result in results:
        click.echo(
            f"{result.source} {result.table}: {len(result.batches)} day(s) "
            f"[{result.start.isoformat()}, {result.end.isoformat()}), "
            f"{result.rows_written} rows stored, {result.rows_quarantined} quarantined"
        )
