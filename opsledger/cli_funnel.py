"""``opsledger funnel``: a configured funnel by NAME, or an ad hoc one from --steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from opsledger.errors import ConfigError, OpsledgerError
from opsledger.settings import Settings

_STEP_FIELDS = (
    "event",
    "count",
    "conversion_from_start",
    "conversion_from_previous",
    "average_conversion_time_s",
    "median_conversion_time_s",
)


def _spec(name: str | None, options: dict[str, Any]):
    from opsledger.config import load_config
    from opsledger.funnels import FunnelSpec
    from opsledger.funnels.identities import resolve
    from opsledger.funnels.notation import parse_steps

    settings = Settings()
    if options.get("identities"):
        options["identities"] = resolve(options["identities"], Path.cwd())
    if name:
        config = load_config(settings.config_path)
        found = [f for f in config.funnels if f.get("name") == name]
        if not found:
            known = ", ".join(sorted(str(f.get("name")) for f in config.funnels)) or "none"
            raise ConfigError(f"{settings.config_path}: no funnel named {name!r} (configured: {known})")
        data = {**found[0], **{k: v for k, v in options.items() if v not in (None, ())}}
        if data.get("identities") and not options.get("identities"):
            data["identities"] = resolve(str(data["identities"]), config.base_dir)
        where = f"{settings.config_path}: funnels[{name}]"
    else:
        if not options.get("steps"):
            raise OpsledgerError("give a configured funnel NAME or --steps a,b,c")
        data = {k: v for k, v in options.items() if v not in (None, ())}
        where = "funnel"
    try:
        if isinstance(data.get("steps"), str):
            data["steps"] = parse_steps(data["steps"])
        return FunnelSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "funnel"
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{where}: {field}: {message}") from None
    except ValueError as exc:  # the --steps notation
        raise ConfigError(f"{where}: {exc}") from None


def _steps_json(rows: list[dict]) -> list[dict]:
    return [{"step": r["step"], **{k: r[k] for k in _STEP_FIELDS}} for r in rows]


@click.command()
@click.argument("name", required=False)
@click.option(
    "--steps",
    metavar="STEPS",
    help="The steps in order, comma-separated, each an event name with optional property filters: "
    "'view_item,checkout[plan=pro,$browser=Firefox]'. Quote a name or value holding , [ ] = or : "
    "in double quotes: 'search[q=\"shoes, red\"],purchase'.",
)
@click.option("--window", help="Conversion window: a count and s, m, h, d, w or M (30 days); default 14d.")
@click.option("--mode", type=click.Choice(["ordered", "strict", "unordered"]))
@click.option("--count", "count_by", type=click.Choice(["persons", "totals", "sessions"]))
@click.option("--breakdown", help="Property to break down by (attributed at step 1).")
@click.option("--attribution", type=click.Choice(["first_touch", "last_touch"]))
@click.option(
    "--exclude",
    "exclusions",
    multiple=True,
    metavar="EVENT:FROM-TO",
    help="Exclusion step, repeatable; the event takes filters like a step: 'logout[plan=free]:1-2'.",
)
@click.option("--from", "date_from", help="Only events at or after this time (ISO 8601, UTC).")
@click.option("--to", "date_to", help="Only events before this time (ISO 8601, UTC).")
@click.option("--tenant", help="Only this tenant's events.")
@click.option(
    "--identities",
    metavar="PATH|TABLE",
    help="Merge distinct_ids into persons: a CSV or Parquet file, or a warehouse table, with columns "
    "distinct_id, person_id.",
)
@click.option("--time-to-convert", "ttc", is_flag=True, help="Histogram of seconds from step 1 to the last.")
@click.option("--bins", type=int, help="Bin count for --time-to-convert (default ceil(cbrt(n)), max 60).")
@click.option("--trends", type=click.Choice(["day", "week", "month"]), help="Conversion per step-1 period.")
@click.option(
    "--dropoffs", type=int, metavar="STEP", help="Who dropped off at STEP: reached STEP - 1 but not STEP."
)
@click.option("--converted", type=int, metavar="STEP", help="Who converted to STEP (reached it or further).")
@click.option(
    "--why",
    type=int,
    metavar="STEP",
    help="Why they dropped off at STEP (same people as --dropoffs STEP): backend errors and latency in "
    "the 30 min after STEP - 1, those who dropped vs those who went on to STEP.",
)
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table", show_default=True)
def funnel(name, steps, window, mode, count_by, breakdown, attribution, exclusions, date_from, date_to,
           tenant, identities, ttc, bins, trends, dropoffs, converted, why, fmt) -> None:  # fmt: skip
    """Compute a funnel with PostHog's semantics: counts, conversion and times per step.

    Steps are numbered from 1. Like PostHog, "dropped off at step k" means reached step k - 1 but
    not step k: --dropoffs k and --why k name the step that was not reached."""
    from opsledger import funnels, warehouse
    from opsledger.funnels.identities import check_identities
    from opsledger.output import render

    options = {
        "steps": steps,
        "window": window,
        "mode": mode,
        "count": count_by,
        "breakdown": breakdown,
        "attribution": attribution,
        "exclusions": list(exclusions) or None,
        "from": date_from,
        "to": date_to,
        "tenant": tenant,
        "identities": identities,
    }
    spec = _spec(name, options)
    con = warehouse.connect(Settings().warehouse_path, read_only=True)
    try:
        if spec.identities:
            check_identities(con, spec.identities)
        if why is not None:
            from opsledger.funnels.why import why_dropped

            _echo_why(why_dropped(con, spec, why), fmt)
            return
        if ttc:
            key, table = "time_to_convert", funnels.time_to_convert(con, spec, bins=bins)
        elif trends:
            key, table = "trends", funnels.funnel_trends(con, spec, trends)
        elif dropoffs is not None:
            key, table = "dropoffs", funnels.funnel_people(con, spec, dropoffs)
        elif converted is not None:
            key, table = "converted", funnels.funnel_people(con, spec, converted, dropped=False)
        else:
            key, table = "steps", funnels.funnel_steps(con, spec)
    finally:
        con.close()
    rows = table.to_pylist()
    if key == "steps":
        total = [r for r in rows if r["is_total"]]
        if fmt == "json":
            document: dict[str, Any] = {"steps": _steps_json(total)}
            if spec.breakdown:
                groups: dict[Any, list[dict]] = {}
                for r in rows:
                    if not r["is_total"]:
                        groups.setdefault(r["breakdown"], []).append(r)
                document["breakdown"] = [{"value": v, "steps": _steps_json(g)} for v, g in groups.items()]
            click.echo(json.dumps(document, indent=2))
            return
        columns = (["breakdown"] if spec.breakdown else []) + ["step", *_STEP_FIELDS]
        shown = rows if spec.breakdown else total
        body = [
            tuple(
                ("(all)" if r["is_total"] else r["breakdown"]) if c == "breakdown" else r[c] for c in columns
            )
            for r in shown
        ]
        click.echo(render(columns, body, "table"), nl=False)
        return
    if fmt == "json":
        records = json.loads(render(table.column_names, [tuple(r.values()) for r in rows], "json"))
        click.echo(json.dumps({key: records}, indent=2))
        return
    click.echo(render(table.column_names, [tuple(r.values()) for r in rows], "table"), nl=False)


def _echo_why(result: dict[str, Any], fmt: str) -> None:
    from opsledger.output import render

    def records(table, digits: int | None = None) -> tuple[list[str], list[tuple]]:
        rows = [tuple(r.values()) for r in table.to_pylist()]
        if digits is not None:
            rows = [tuple(round(v, digits) if isinstance(v, float) else v for v in row) for row in rows]
        return table.column_names, rows

    if fmt == "json":
        document = {k: v for k, v in result.items() if k not in ("summary", "services")}
        for key in ("summary", "services"):
            document[key] = json.loads(render(*records(result[key]), "json"))
        click.echo(json.dumps({"why": document}, indent=2))
        return
    step = result["step"]
    click.echo(
        f"dropped off at step {step} {result['event']} (reached step {step - 1} {result['previous_event']}): "
        f"backend in the {result['after_seconds']} s after {result['previous_event']}, dropped vs converted"
    )
    click.echo(render(*records(result["summary"], 3), "table"), nl=False)
    click.echo("\nservices, most over-represented among those who dropped first:")
    click.echo(render(*records(result["services"], 3), "table"), nl=False)
