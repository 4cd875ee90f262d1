"""``opsledger slo correct`` and ``opsledger slo corrections``: retroactive exclusions of a time
range from an SLO, recorded as audit events (``opsledger.slo.corrections``)."""

from __future__ import annotations

import click

from opsledger.cli_slo import FORMAT_OPTION, emit_rows, parse_instant

CORRECTION_COLUMNS = ("slo", "start", "end", "reason", "author", "recorded_at", "correction_id")


@click.command()
@click.argument("name")
@click.option("--from", "from_text", required=True, metavar="ISO8601", help="Start of the excluded range.")
@click.option("--to", "to_text", required=True, metavar="ISO8601", help="End of the range (exclusive).")
@click.option("--reason", required=True, help="Why the range does not count (kept in the audit log).")
@click.option("--author", help="Who excludes it (default: $USER).")
def correct(name: str, from_text: str, to_text: str, reason: str, author: str | None) -> None:
    """Exclude [--from, --to) from SLO NAME's SLI and error budget, retroactively.

    The correction is recorded as an audit event (action slo.correction) in the lake; `opsledger
    slo status` sees it at once, the marts after the next `opsledger build`. Recording the same
    SLO, range and reason again changes nothing."""
    from opsledger import warehouse
    from opsledger.config import load_config
    from opsledger.settings import Settings
    from opsledger.slo.catalog import find, load_configured
    from opsledger.slo.corrections import record_correction

    start, end = parse_instant(from_text, "--from"), parse_instant(to_text, "--to")
    settings = Settings()
    find(load_configured(load_config(settings.config_path)), name)
    found, created = record_correction(settings.lake_dir, name, start, end, reason, author)
    span = f"[{found.start:%Y-%m-%d %H:%M} – {found.end:%Y-%m-%d %H:%M} UTC)"
    if created:
        warehouse.refresh_views_at(settings.warehouse_path, settings.lake_dir)
        click.echo(f"recorded correction {found.correction_id} of {name}: {span} by {found.author}")
        click.echo("the SLO marts and dashboards show it after the next `opsledger build`")
    else:
        click.echo(
            f"correction {found.correction_id} of {name} {span} was already recorded by {found.author} "
            f"at {found.recorded_at:%Y-%m-%d %H:%M} UTC; nothing written"
        )


@click.command()
@click.argument("name", required=False)
@FORMAT_OPTION
def corrections(name: str | None, fmt: str) -> None:
    """The corrections recorded for SLO NAME (default: every SLO), oldest range first."""
    from opsledger.config import load_config
    from opsledger.settings import Settings
    from opsledger.slo.catalog import find, load_configured
    from opsledger.slo.corrections import list_lake_corrections

    settings = Settings()
    if name is not None:
        find(load_configured(load_config(settings.config_path)), name)
    rows = [c.as_row() for c in list_lake_corrections(settings.lake_dir, name)]
    emit_rows(rows, CORRECTION_COLUMNS, fmt)
