"""``opsledger demo``: generate the demo company, then run the main job over it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import click

from opsledger.config import load_config
from opsledger.errors import OpsledgerError
from opsledger.samples import demo_config
from opsledger.settings import Settings

if TYPE_CHECKING:
    from pipelines.run import MainJobSummary

DEMO_HEADER = "# opsledger.yaml written by `opsledger demo`"


def run_demo(
    settings: Settings, *, seed: int, start: date, days: int, users: int, services: int, scale: float
) -> MainJobSummary:
    from opsledger.demo import generate
    from pipelines.run import run_main_job

    config_path = settings.config_path
    if config_path.exists() and not config_path.read_text(encoding="utf-8").startswith(DEMO_HEADER):
        raise OpsledgerError(
            f"{config_path} is your own config; run the demo in its own home, e.g. "
            "OPSLEDGER_HOME=./.opsledger-demo opsledger demo"
        )
    _say(f"generating the demo company ({days} days from {start}, seed {seed}) in {settings.demo_dir}")
    story = generate(
        settings.demo_dir,
        seed=seed,
        start=start,
        days=days,
        services=services,
        users=users,
        scale=scale,
        progress=lambda message: _say(f"  {message}"),
    )
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(demo_config(start, list(story.tenants)), encoding="utf-8")
    load_config(config_path)
    end = start + timedelta(days=days - 1)
    _say(f"running the main job (ingest → warehouse → marts) for {start} … {end}")
    summary = run_main_job(settings, start=start, end=end, progress=lambda message: _say(f"  {message}"))
    for table, rows in sorted(summary.rows_per_table.items()):
        _say(f"  {table:<24} {rows:>10,} rows")
    quarantined = f"{summary.rows_quarantined:>10,} rows"
    _say(f'  {"quarantine":<24} {quarantined} (see: opsledger sql "select * from quarantine")')
    for mart, rows in summary.mart_rows.items():
        _say(f"  {mart:<24} {rows:>10,} rows")
    if summary.failed_checks:
        raise OpsledgerError(f"asset checks failed: {', '.join(summary.failed_checks)} (see the Dagster UI)")
    _say(f"done: {len(summary.checks)} asset checks passed; the warehouse is at {settings.warehouse_path}")
    return summary


def _say(message: str) -> None:
    click.echo(message, err=True)
