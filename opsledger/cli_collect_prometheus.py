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


def configured(
    settings: Settings, kind: str, name: str | None, settings_path: Path | None, legacy: Path, load
):
    """The sources a ``collect`` command runs: the ``--settings`` file, else the ``live.<kind>`` entries of
    opsledger.yaml (all, or ``--name``), else the older ``$OPSLEDGER_HOME/<kind>.yaml``."""
    from opsledger.config import load_config

    if settings_path is not None:
        if name is not None:
            raise OpsledgerError("give --settings FILE or --name (a source of opsledger.yaml), not both")
        return [load(settings_path)]
    live = load_config(settings.config_path).live_sources
    if getattr(live, kind) or name is not None:
        return live.pick(kind, name)
    if not legacy.is_file():
        raise OpsledgerError(
            f"no {kind} source configured: add live.{kind} to {settings.config_path}, or give --settings FILE"
        )
    return [load(legacy)]


def name_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--name", help="Collect only this source of opsledger.yaml's live section (default: all of them)."
    )(command)


@click.command("prometheus")
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML of one server and its queries (default: live.prometheus in opsledger.yaml, "
    "else $OPSLEDGER_HOME/prometheus.yaml).",
)
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
    sources = configured(
        settings, "prometheus", name, settings_path, settings.home_dir / "prometheus.yaml", load_settings
    )
    for prom in sources:
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
