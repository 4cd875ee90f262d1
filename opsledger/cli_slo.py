"""``opsledger slo`` (validate specs, Prometheus rules, status and daily history of the configured SLOs)
and ``opsledger sla`` (monthly SLA reports with credits)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from opsledger.errors import ConfigError, OpsledgerError


@click.group()
def slo() -> None:
    """SLO specs (OpenSLO v1, OpenSLO v1alpha, Sloth prometheus/v1): validation and Prometheus rules."""


@slo.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--default-period", default="30d", show_default=True, help="Window of Sloth specs, which name none."
)
def validate(paths: tuple[str, ...], default_period: str) -> None:
    """Check every SLO spec in PATHS (files or folders); print one line per SLO found."""
    from opsledger.slo.loaders import load_specs

    slos = load_specs(paths, default_period=default_period)
    if not slos:
        raise ConfigError(f"no SLO specs found in {', '.join(paths)}")
    for item in slos:
        targets = ", ".join(f"{_percent(o.target_percent)}%" for o in item.objectives)
        click.echo(
            f"{item.name}\tservice={item.service}\ttarget={targets}\twindow={item.time_window.describe()}"
            f"\tmethod={item.budgeting_method}"
        )
    click.echo(f"{len(slos)} SLO(s) valid")


def _percent(value: float) -> str:
    # 0.9995 × 100 is 99.94999999999999 in floats; show what the user wrote.
    return format(round(value, 9), "f").rstrip("0").rstrip(".")


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise ConfigError(f"--extra-label {value!r}: expected KEY=VALUE")
        labels[key] = text
    return labels


@slo.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the rules to this file.")
@click.option("--extra-label", "extra_labels", multiple=True, metavar="KEY=VALUE", help="Add to every rule.")
@click.option(
    "--windows",
    "windows",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Sloth AlertWindows file(s) replacing the default 30d/28d burn-rate windows.",
)
@click.option(
    "--default-period", default="30d", show_default=True, help="Window of Sloth specs, which name none."
)
@click.option("--generator-version", hidden=True, help="Value of the sloth_version info label.")
def rules(specs, out, extra_labels, windows, default_period, generator_version) -> None:
    """Print (or write with --out) Prometheus recording and alerting rules for SPECS."""
    from opsledger.slo.loaders import expand, load_specs
    from opsledger.slo.rules import RuleOptions, generate
    from opsledger.slo.windows import WindowCatalog

    window_files = expand(windows)
    options = RuleOptions(catalog=WindowCatalog.from_files(window_files), extra_labels=_labels(extra_labels))
    if generator_version:
        options = RuleOptions(options.catalog, options.extra_labels, generator_version)
    slos = load_specs(specs, default_period=default_period)
    if not slos:
        raise ConfigError(f"no SLO specs found in {', '.join(specs)}")
    text = generate(slos, options)
    if out is None:
        click.echo(text, nl=False)
        return
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)  # a failed run never leaves a half-written rules file behind
    click.echo(f"wrote {len(slos)} SLO(s) to {out}", err=True)


STATUS_COLUMNS = (
    "name",
    "objective",
    "group",
    "at",
    "window_start",
    "target",
    "sli",
    "good",
    "total",
    "error_budget_remaining",
    "burn_rate",
    "burn_rate_5m",
    "burn_rate_1h",
    "burn_rate_6h",
    "burn_rate_1d",
    "burn_rate_3d",
    "time_to_exhaustion_hours",
    "status",
    "budget_exhausted_at",
    "incidents_over_20pct",
)
HISTORY_COLUMNS = (
    "date",
    "name",
    "objective",
    "group",
    "target",
    "sli",
    "good",
    "total",
    "error_budget_remaining",
    "burn_rate",
    "burn_rate_1d",
    "status",
    "policy_events",
)
STEP_COLUMNS = (
    "at",
    "name",
    "objective",
    "group",
    "sli",
    "good",
    "total",
    "error_budget_remaining",
    "burn_rate_5m",
    "burn_rate_30m",
    "burn_rate_1h",
    "burn_rate_2h",
    "burn_rate_6h",
    "burn_rate_1d",
    "burn_rate_3d",
)
POLICY_COLUMNS = (
    "name",
    "objective",
    "group",
    "event",
    "start",
    "end",
    "period_start",
    "period_end",
    "bad",
    "budget",
    "budget_share",
    "minutes",
)
SLA_COLUMNS = (
    "name",
    "slo",
    "month",
    "time_zone",
    "minutes",
    "downtime_minutes",
    "excluded_minutes",
    "uptime",
    "target",
    "met",
    "credit_percent",
)
FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)


def parse_instant(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time; without an offset it is UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r}: expected ISO 8601, e.g. 2026-10-03T12:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def _configured():
    """The config, its SLOs and a read-only warehouse connection (closed after the block), on
    which the SLO corrections are read once."""
    from opsledger import warehouse
    from opsledger.config import load_config
    from opsledger.settings import Settings
    from opsledger.slo.catalog import load_configured
    from opsledger.slo.corrections import read_once

    settings = Settings()
    config = load_config(settings.config_path)
    slos = load_configured(config)
    if not slos:
        raise ConfigError(f"{settings.config_path}: no SLOs configured (slos.specs)")
    con = warehouse.connect(settings.warehouse_path, read_only=True)
    try:
        with read_once(con):
            yield config, slos, con
    finally:
        con.close()


def _facts_from(con, item, start: datetime, end: datetime):
    """Facts built once for what is asked from ``start`` to ``end``: windows reach one (nominal)
    period and the longest burn-rate window back; a request reaching further is built on its own."""
    from opsledger.slo.facts import covering_builder

    return covering_builder(con, item, _facts_start(item, start), end)


def _facts_start(item, start: datetime) -> datetime:
    """How far back what is asked from ``start`` reads: one (nominal) period and the longest
    burn-rate window."""
    from opsledger.slo.evaluate import LONGEST_BURN_WINDOW
    from opsledger.slo.periods import nominal_period

    return start - nominal_period(item.time_window) - LONGEST_BURN_WINDOW


def _latest_data_time(con) -> datetime:
    """The minute after the newest record of any source table, so a past demo shows its last state."""
    from opsledger.slo.marts import data_extent

    extent = data_extent(con)
    if extent is None:
        raise OpsledgerError("the warehouse holds no data yet; give --at, or ingest first")
    return extent[1]


def emit_rows(rows: list[dict], columns: tuple[str, ...], fmt: str) -> None:
    from opsledger.output import render

    if fmt == "json":
        click.echo(render(list(columns), [tuple(r.get(c) for c in columns) for r in rows], "json"), nl=False)
        return
    shown = [tuple(_cell(r.get(c)) for c in columns) for r in rows]
    click.echo(render(list(columns), shown, "table"), nl=False)


def _cell(value):
    # Six significant places are what a person compares; JSON keeps full precision.
    return float(f"{value:.6g}") if isinstance(value, float) else value


@slo.command()
@click.option("--at", "at_text", metavar="ISO8601", help="Evaluation instant (default: newest data).")
@FORMAT_OPTION
def status(at_text: str | None, fmt: str) -> None:
    """State of every configured SLO at --at: SLI, error budget, burn rates and status.

    --at defaults to the minute after the newest record in the warehouse (not now), so a
    warehouse of past data, like the demo's, shows its last state instead of NO_DATA."""
    from opsledger.slo.evaluate import evaluate
    from opsledger.slo.periods import window_at
    from opsledger.slo.policy import policy_events

    rows = []
    with _configured() as (_, slos, con):
        at = parse_instant(at_text, "--at") or _latest_data_time(con)
        for item in slos:
            since = window_at(item.time_window, at).start
            # One build of the facts serves the evaluation and the policy events' rolling windows.
            facts = _facts_from(con, item, since, at)
            found = evaluate(con, item, at, facts=facts)
            events = policy_events(con, item, since, at, facts=facts)
            rows += [_with_policy(row, events) for row in found]
    emit_rows(rows, STATUS_COLUMNS, fmt)


def _with_policy(row: dict, events: list[dict]) -> dict:
    """The status row with the budget exhaustion in effect at its instant and the large incidents
    that ended inside its window."""
    mine = [e for e in events if (e["objective"], e["group"]) == (row["objective"], row["group"])]
    current = [
        e
        for e in mine
        if e["event"] == "budget_exhausted"
        and e["start"] < row["at"]
        and (e["end"] is None or e["end"] > row["at"])
    ]
    incidents = [
        e for e in mine if e["event"] == "incident_over_20pct" and row["window_start"] < e["end"] <= row["at"]
    ]
    return {
        **row,
        "budget_exhausted_at": current[-1]["start"] if current else None,
        "incidents_over_20pct": len(incidents),
    }


@slo.command()
@click.argument("name")
@click.option("--from", "from_text", metavar="ISO8601", help="Default: one SLO window before --to.")
@click.option("--to", "to_text", metavar="ISO8601", help="Default: newest data.")
@click.option(
    "--step",
    "step_text",
    type=click.Choice(["1m", "5m"]),
    help="Instead of one row a day: every STEP from --from, the SLI, budget left and burn rates over "
    "5m … 3d that Sloth's recording rules record (rolling Occurrences SLOs; a step divides every window).",
)
@FORMAT_OPTION
def history(name: str, from_text: str | None, to_text: str | None, step_text: str | None, fmt: str) -> None:
    """Daily series of SLO NAME: its state at the end of each day (midnight in its time zone); with
    --step, what Sloth's recording rules record, every STEP."""
    from zoneinfo import ZoneInfo

    from opsledger.slo.catalog import find
    from opsledger.slo.durations import parse_prom_duration
    from opsledger.slo.evaluate import history as daily
    from opsledger.slo.periods import nominal_period
    from opsledger.slo.policy import describe, policy_events

    step = parse_prom_duration(step_text) if step_text else None
    with _configured() as (_, slos, con):
        item = find(slos, name)
        end = parse_instant(to_text, "--to") or _latest_data_time(con)
        start = parse_instant(from_text, "--from") or end - nominal_period(item.time_window)
        if start >= end:
            raise ConfigError("--from must be before --to")
        facts = _facts_from(con, item, start, end)
        if step is not None:
            emit_rows(_stepped_history(con, item, start, end, step, facts), STEP_COLUMNS, fmt)
            return
        rows = daily(con, item, start, end, facts=facts)
        events = policy_events(con, item, start, end, facts=facts)
    zone = ZoneInfo(item.time_window.time_zone)
    for row in rows:
        # Each day's row lists the policy events that began that day (in the SLO's time zone).
        row["policy_events"] = "; ".join(
            describe(e)
            for e in events
            if (e["objective"], e["group"]) == (row["objective"], row["group"])
            and e["start"].astimezone(zone).date() == row["date"]
        )
    emit_rows(rows, HISTORY_COLUMNS, fmt)


def _stepped_history(con, item, start: datetime, end: datetime, step, facts) -> list[dict]:
    """Every ``step`` from ``start`` to ``end``, each objective and group: what Sloth's recording
    rules record (``evaluate.windowed_history``, which the SLO benchmark times against Prometheus)."""
    from opsledger.slo.evaluate import windowed_history

    rows: list[dict] = []
    for index in range(len(item.objectives)):
        built = facts(con, item, _facts_start(item, start), end, objective=index)
        try:
            table = windowed_history(con, built, item, index, start, end, step)
        except ValueError as exc:  # not a rolling Occurrences SLO
            raise ConfigError(f"--step: {exc}") from None
        objective = item.objective_name(index)
        rows += [{"name": item.name, "objective": objective, **row} for row in table.to_pylist()]
    return rows


@slo.command()
@click.argument("name", required=False)
@click.option("--from", "from_text", metavar="ISO8601", help="Default: one SLO window before --to.")
@click.option("--to", "to_text", metavar="ISO8601", help="Default: newest data.")
@FORMAT_OPTION
def events(name: str | None, from_text: str | None, to_text: str | None, fmt: str) -> None:
    """Error-budget policy events of SLO NAME (default: every SLO): budget exhausted (and when it
    recovered) and incidents over 20 % of the period's budget, overlapping [--from, --to)."""
    from opsledger.slo.catalog import find
    from opsledger.slo.periods import nominal_period
    from opsledger.slo.policy import policy_events

    with _configured() as (_, slos, con):
        chosen = [find(slos, name)] if name is not None else slos
        end = parse_instant(to_text, "--to") or _latest_data_time(con)
        rows = []
        for item in chosen:
            start = parse_instant(from_text, "--from") or end - nominal_period(item.time_window)
            if start >= end:
                raise ConfigError("--from must be before --to")
            rows += policy_events(con, item, start, end, facts=_facts_from(con, item, start, end))
    emit_rows(rows, POLICY_COLUMNS, fmt)


@click.group()
def sla() -> None:
    """SLAs: monthly uptime per contract, maintenance excluded, and the service credits owed."""


@sla.command()
@click.option("--month", required=True, metavar="YYYY-MM", help="Calendar month in each SLA's time zone.")
@click.option("--name", "names", multiple=True, help="Only these SLAs (default: all configured).")
@FORMAT_OPTION
def report(month: str, names: tuple[str, ...], fmt: str) -> None:
    """Per configured SLA: minutes, downtime, excluded maintenance, uptime, met and credit.

    JSON adds each SLA's downtime periods and maintenance windows."""
    from opsledger.slo.catalog import find
    from opsledger.slo.sla import parse_month, report_month

    year, number = parse_month(month)
    with _configured() as (config, slos, con):
        chosen = [s for s in config.slas if not names or s.name in names]
        unknown = sorted(set(names) - {s.name for s in config.slas})
        if unknown or not chosen:
            known = ", ".join(s.name for s in config.slas) or "none configured (slas in opsledger.yaml)"
            problem = f"no SLA named {unknown[0]!r} (known: {known})" if unknown else f"no SLAs: {known}"
            raise ConfigError(problem)
        # report_month adds the SLO's corrections as excluded windows (source "correction").
        rows = [report_month(con, item, find(slos, item.slo), year, number) for item in chosen]
    columns = SLA_COLUMNS + (("downtime_periods", "maintenance") if fmt == "json" else ())
    emit_rows(rows, columns, fmt)
