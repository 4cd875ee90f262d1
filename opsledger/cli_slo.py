"""``opsledger slo``: validate SLO specs and export them as Prometheus rules in Sloth's shape."""

from __future__ import annotations

from pathlib import Path

import click

from opsledger.errors import ConfigError


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

    window_files = [p for w in windows for p in (expand([w]) if w.is_dir() else [w])]
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
