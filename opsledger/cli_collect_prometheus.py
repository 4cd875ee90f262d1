"""``opsledger collect prometheus``: pull configured queries from a live Prometheus into the lake."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from opsledger.errors import OpsledgerError
from opsledger.settings import Settings


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO time (e.g. 2026-10-01 or 2026-10-01T12:00Z)"
        ) from None
    # A time without an offset is UTC, like every time opsledger stores.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@click.command("prometheus")
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML of the server and queries (default: $OPSLEDGER_HOME/prometheus.yaml).",
)
@click.option(
    "--start", callback=_moment, help="Start (UTC unless an offset is given); default: the watermark."
)
@click.option("--end", callback=_moment, help="End, exclusive (default: now).")
def prometheus(settings_path: Path | None, start: datetime | None, end: datetime | None) -> None:
    """Collect the configured PromQL queries for [START, END) into metric_samples, one UTC day at a
    time; each day is committed whole and only then advances the watermark."""
    from opsledger import warehouse
    from opsledger.live_metrics import collect_metrics, load_settings
    from opsledger.progress import record_progress

    settings = Settings()
    prom = load_settings(settings_path or settings.home_dir / "prometheus.yaml")
    if start and end and end <= start:
        raise OpsledgerError("--end must be after --start")
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
    con = warehouse.connect(settings.warehouse_path, read_only=False)
    try:
        warehouse.refresh_views(con, settings.lake_dir)
    finally:
        con.close()
