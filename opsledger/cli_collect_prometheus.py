"""``opsledger collect prometheus``: pull configured queries from a live Prometheus into the lake."""

from __future__ import annotations

from collections.abc import Callable
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


def range_options(command: Callable[..., None]) -> Callable[..., None]:
    """The --start/--end options of a live collection (shared by ``collect elasticsearch``)."""
    command = click.option("--end", callback=_moment, help="End, exclusive (default: now).")(command)
    return click.option(
        "--start", callback=_moment, help="Start (UTC unless an offset is given); default: the watermark."
    )(command)


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start and end and end <= start:
        raise OpsledgerError("--end must be after --start")


def refresh_views(settings: Settings) -> None:
    """Let the warehouse views see the days just written to the lake."""
    from opsledger import warehouse

    con = warehouse.connect(settings.warehouse_path, read_only=False)
    try:
        warehouse.refresh_views(con, settings.lake_dir)
    finally:
        con.close()


@click.command("prometheus")
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML of the server and queries (default: $OPSLEDGER_HOME/prometheus.yaml).",
)
@range_options
def prometheus(settings_path: Path | None, start: datetime | None, end: datetime | None) -> None:
    """Collect the configured PromQL queries for [START, END) into metric_samples, one UTC day at a
    time; each day is committed whole and only then advances the watermark."""
    from opsledger.live_metrics import collect_metrics, load_settings
    from opsledger.progress import record_progress

    settings = Settings()
    prom = load_settings(settings_path or settings.home_dir / "prometheus.yaml")
    check_range(start, end)
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
    refresh_views(settings)
