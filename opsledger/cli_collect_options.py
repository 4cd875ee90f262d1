"""Options and source lookup shared by ``opsledger collect prometheus`` and ``collect elasticsearch``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
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
    from opsledger.live_days import utc

    return utc(moment)  # a time without an offset is UTC, like every time opsledger stores


def range_options(command: Callable[..., None]) -> Callable[..., None]:
    """The --start/--end options of a live collection."""
    command = click.option("--end", callback=_moment, help="End, exclusive (default: now).")(command)
    return click.option(
        "--start", callback=_moment, help="Start (UTC unless an offset is given); default: the watermark."
    )(command)


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start and end and end <= start:
        raise OpsledgerError("--end must be after --start")


def configured(settings: Settings, kind: str, name: str | None, settings_path: Path | None, load):
    """The sources a ``collect`` command runs: the ``--settings`` file, else the ``live.<kind>`` entries of
    opsledger.yaml (all, or ``--name``), else the older ``$OPSLEDGER_HOME/<kind>.yaml``."""
    from opsledger.config import load_config

    legacy = settings.home_dir / f"{kind}.yaml"
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


def settings_option(kind: str, what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--settings FILE: one ``kind`` source described as ``what``, instead of opsledger.yaml."""
    return click.option(
        "--settings",
        "settings_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"YAML of {what} (default: live.{kind} in opsledger.yaml, else $OPSLEDGER_HOME/{kind}.yaml).",
    )
