"""The ``opsledger`` command line. User errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import sys

import click

from opsledger.cli_collect import collect
from opsledger.cli_funnel import funnel
from opsledger.cli_slo import sla, slo
from opsledger.cli_slo_corrections import correct, corrections
from opsledger.config import load_config
from opsledger.contract import INGEST_KINDS
from opsledger.errors import OpsledgerError
from opsledger.settings import Settings


class _Cli(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OpsledgerError as exc:
            click.echo(f"opsledger: error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("opsledger: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Cli)
@click.version_option(package_name="opsledger")
def main() -> None:
    """opsledger — an observability warehouse: metrics, logs, audit, directory, test results and
    product events in a Parquet lake with a DuckDB warehouse, orchestrated by Dagster.

    State lives in $OPSLEDGER_HOME (default ./.opsledger); config in $OPSLEDGER_HOME/opsledger.yaml
    (or $OPSLEDGER_CONFIG)."""


@main.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def init(force: bool) -> None:
    """Create $OPSLEDGER_HOME and write a commented sample opsledger.yaml."""
    from opsledger.samples import SAMPLE_CONFIG

    settings = Settings()
    path = settings.config_path
    if path.exists() and not force:
        raise OpsledgerError(f"{path} already exists (use --force to overwrite)")
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SAMPLE_CONFIG, encoding="utf-8")
    load_config(path)  # the sample must always be valid
    click.echo(f"wrote {path}")


@main.command()
@click.argument("table", type=click.Choice(sorted(INGEST_KINDS)))
@click.argument("paths", nargs=-1, required=True)
@click.option("--source", help="Source name recorded with the rows (default: the file's absolute path).")
def ingest(table: str, paths: tuple[str, ...], source: str | None) -> None:
    """Ingest files (or folders, or globs) into TABLE, one accounted batch per file."""
    from opsledger import warehouse
    from opsledger.ingest import expand, ingest_file
    from opsledger.progress import record_progress

    settings = Settings()
    files = expand(paths)
    if source and len(files) > 1:
        raise OpsledgerError("--source names one file's rows; give one file, or leave --source out")
    totals = {"read": 0, "written": 0, "quarantined": 0}
    with record_progress() as progress:
        for path in files:
            task = progress.add_task(path.name, total=None)
            result = ingest_file(
                settings.lake_dir,
                table,
                path,
                source=source,
                progress=lambda n, t=task: progress.update(t, completed=n),
            )
            progress.update(task, completed=result.rows_read)
            totals["read"] += result.rows_read
            totals["written"] += result.rows_written
            totals["quarantined"] += result.rows_quarantined
    click.echo(
        f"{table}: {len(files)} file(s), {totals['read']} records read, {totals['written']} stored, "
        f"{totals['quarantined']} quarantined"
    )
    warehouse.refresh_views_at(settings.warehouse_path, settings.lake_dir)
    if totals["quarantined"]:
        click.echo('see the reasons with: opsledger sql "select * from quarantine order by ingested_at desc"')


@main.command()
def build() -> None:
    """Refresh the warehouse views over the lake and rebuild the marts."""
    from opsledger import warehouse

    settings = Settings()
    counts = warehouse.build(settings.warehouse_path, settings.lake_dir, load_config(settings.config_path))
    for mart, rows in counts.items():
        click.echo(f"{mart}: {rows} rows")


@main.command("sql")
@click.argument("query")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
def sql_command(query: str, fmt: str) -> None:
    """Run a read-only SQL QUERY against the warehouse (JSON: an array of objects)."""
    import duckdb

    from opsledger import warehouse
    from opsledger.output import render

    settings = Settings()
    con = warehouse.connect(settings.warehouse_path, read_only=True)
    try:
        result = con.sql(query)
        if result is None:
            raise OpsledgerError("the statement returned no rows to show")
        columns = result.columns
        rows = result.fetchall()
    except duckdb.Error as exc:
        raise OpsledgerError(f"SQL: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    click.echo(render(columns, rows, fmt), nl=False)


@main.command()
@click.option(
    "--no-serve", is_flag=True, help="Stop after building; do not start the dashboards and Dagster UI."
)
@click.option("--seed", default=7, show_default=True, help="Seed of the deterministic demo company.")
@click.option("--days", default=30, show_default=True, help="Days of history to generate.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2026-10-01", show_default=True)
@click.option("--users", default=300, show_default=True)
@click.option("--services", default=6, show_default=True)
@click.option("--scale", default=1.0, show_default=True, help="Multiplies event volumes.")
@click.option("--dashboard-port", default=8501, show_default=True)
@click.option("--dagster-port", default=3000, show_default=True)
def demo(no_serve, seed, days, start, users, services, scale, dashboard_port, dagster_port) -> None:
    """Generate the demo company, ingest it, build the marts, then serve the dashboards and Dagster UI."""
    from opsledger.demo_run import run_demo

    settings = Settings()
    run_demo(
        settings,
        seed=seed,
        start=start.date(),
        days=days,
        users=users,
        services=services,
        scale=scale,
    )
    if not no_serve:
        from opsledger.serve import serve as serve_all

        serve_all(settings, dashboard_port=dashboard_port, dagster_port=dagster_port)


@main.command()
@click.option("--dashboard-port", default=8501, show_default=True)
@click.option("--dagster-port", default=3000, show_default=True)
def serve(dashboard_port: int, dagster_port: int) -> None:
    """Serve the Streamlit dashboards and the Dagster UI on 127.0.0.1 until interrupted."""
    from opsledger.serve import serve as serve_all

    serve_all(Settings(), dashboard_port=dashboard_port, dagster_port=dagster_port)


slo.add_command(correct)
slo.add_command(corrections)
main.add_command(slo)
main.add_command(sla)
main.add_command(funnel)
main.add_command(collect)

if __name__ == "__main__":
    main()
