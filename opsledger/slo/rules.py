"""Prometheus recording and alerting rules for SLOs, in exactly the shape Sloth generates.

Per SLO objective three groups: SLI error ratios for every alert window plus the period (the
period one averaged from the 5-minute ratio, as Sloth does), metadata (objective, error
budget, burn rates, budget remaining, info), and the page / ticket multi-window multi-burn-rate
alerts. Float literals are printed the way Go prints them (``vector(0.9990000000000001)``,
``(6 * 0.0009999999999999432)``) so the output equals Sloth's after YAML parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import yaml

from opsledger import __version__
from opsledger.errors import ConfigError
from opsledger.slo.durations import format_prom_duration
from opsledger.slo.spec import SLO, ErrorRatioIndicator, PrometheusSource, RatioIndicator, UnspecifiedSource
from opsledger.slo.windows import AlertWindows, BurnWindow, WindowCatalog

_WINDOW = re.compile(r"{{\s*\.window\s*}}")
_MODES = {
    "prometheus/v1": "cli-gen-prom",
    "openslo/v1alpha": "cli-gen-openslo",
    "openslo/v1": "cli-gen-openslo",
}


@dataclass(frozen=True)
class RuleOptions:
    """``extra_labels`` go on every recording rule (Sloth's ``--extra-labels``); ``version`` is the
    ``sloth_version`` info label."""

    catalog: WindowCatalog = field(default_factory=WindowCatalog)
    extra_labels: dict[str, str] = field(default_factory=dict)
    version: str = f"opsledger-{__version__}"


def go_float(value: float) -> str:
    """Go's shortest ``%g`` / ``%v`` of a float64: positional unless the exponent is < -4 or ≥ 6
    (Go prints 1e6 as ``1e+06``)."""
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent
    mark = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + (f".{text[1:]}" if len(text) > 1 else "")
        return f"{mark}{mantissa}e{'-' if point - 1 < 0 else '+'}{abs(point - 1):02d}"
    if point <= 0:
        return f"{mark}0.{'0' * -point}{text}"
    if point >= len(text):
        return mark + text + "0" * (point - len(text))
    return f"{mark}{text[:point]}.{text[point:]}"


def _render_query(query: str, window: timedelta) -> str:
    return _WINDOW.sub(format_prom_duration(window), query)


def _prom_query(source, slo: SLO) -> str:
    if not isinstance(source, PrometheusSource):
        kind = source.type if isinstance(source, UnspecifiedSource) else source.kind.upper()
        raise ConfigError(
            f"{slo.origin.path}: SLO {slo.name!r}: Prometheus rules need Prometheus queries, "
            f"not a source of type {kind!r}"
        )
    if not _WINDOW.search(source.query):
        raise ConfigError(
            f"{slo.origin.path}: SLO {slo.name!r}: the query {source.query!r} has no {{{{.window}}}} "
            "placeholder for the range of each rule"
        )
    return source.query


def _error_ratio_template(slo: SLO) -> str:
    """The SLI error-ratio expression with ``{{.window}}`` still in it."""
    indicator = slo.indicator
    if isinstance(indicator, RatioIndicator) and indicator.bad is not None:
        return f"({_prom_query(indicator.bad, slo)})\n/\n({_prom_query(indicator.total, slo)})\n"
    if isinstance(indicator, RatioIndicator):
        # Sloth's OpenSLO reader turns good/total into this raw error-ratio query.
        good, total = _prom_query(indicator.good, slo), _prom_query(indicator.total, slo)
        raw = f"\n  1 - (\n    (\n      {good}\n    )\n    /\n    (\n      {total}\n    )\n  )\n"
        return f"({raw})"
    if isinstance(indicator, ErrorRatioIndicator):
        return f"({_prom_query(indicator.source, slo)})"
    raise ConfigError(
        f"{slo.origin.path}: SLO {slo.name!r}: a threshold indicator has no Prometheus rule form; "
        "express it as a ratio of good (under the threshold) to total events"
    )


def _filter(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def rule_groups(slo: SLO, options: RuleOptions | None = None) -> list[dict]:
    """The rule groups of every objective of ``slo``, as plain data ready for YAML."""
    options = options or RuleOptions()
    period = slo.time_window.length
    if period is None or not slo.time_window.rolling:
        raise ConfigError(
            f"{slo.origin.path}: SLO {slo.name!r}: Prometheus rules need a rolling window, "
            f"got {slo.time_window.describe()}"
        )
    template = _error_ratio_template(slo)
    windows = options.catalog.get(period)
    groups: list[dict] = []
    for index, objective in enumerate(slo.objectives):
        name = slo.objective_name(index)
        ids = {"sloth_id": f"{slo.service}-{name}", "sloth_service": slo.service, "sloth_slo": name}
        labels = {**slo.labels, **options.extra_labels}
        groups.append(_sli_group(ids, labels, template, windows))
        groups.append(_meta_group(slo, ids, labels, objective.target_percent, windows, options.version))
        alerts = _alert_rules(slo, ids, objective.target_percent, windows)
        if alerts:
            groups.append({"name": f"sloth-slo-alerts-{ids['sloth_id']}", "rules": alerts})
    return groups


def _sorted(labels: dict[str, str]) -> dict[str, str]:
    return dict(sorted(labels.items()))


def _sli_group(ids: dict, labels: dict, template: str, windows: AlertWindows) -> dict:
    rules = []
    short = windows.page_quick.short
    for window in [*windows.rule_windows(), windows.period]:
        text = format_prom_duration(window)
        if window == windows.period:
            # Sloth averages the shortest ratio over the period instead of a 30-day range query:
            # cheaper for Prometheus, biased under uneven traffic (opsledger's own evaluation is exact).
            metric = f"slo:sli_error:ratio_rate{format_prom_duration(short)}{_filter(ids)}"
            expr = (
                f"sum_over_time({metric}[{text}])\n/ ignoring (sloth_window)\n"
                f"count_over_time({metric}[{text}])\n"
            )
        else:
            expr = _render_query(template, window)
        rules.append(
            {
                "record": f"slo:sli_error:ratio_rate{text}",
                "expr": expr,
                "labels": _sorted({**ids, "sloth_window": text, **labels}),
            }
        )
    return {"name": f"sloth-slo-sli-recordings-{ids['sloth_id']}", "rules": rules}


def _meta_group(
    slo: SLO, ids: dict, labels: dict, percent: float, windows: AlertWindows, version: str
) -> dict:
    common = _sorted({**ids, **labels})
    ratio = go_float(percent / 100)
    flt = _filter(ids)
    short = format_prom_duration(windows.page_quick.short)
    period = format_prom_duration(windows.period)
    join = "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
    info = {
        **common,
        "sloth_mode": _MODES[slo.origin.format],
        "sloth_objective": go_float(percent),
        "sloth_spec": slo.origin.format,
        "sloth_version": version,
    }
    rules = [
        ("slo:objective:ratio", f"vector({ratio})", common),
        ("slo:error_budget:ratio", f"vector(1-{ratio})", common),
        ("slo:time_period:days", f"vector({go_float(windows.period / timedelta(days=1))})", common),
        (
            "slo:current_burn_rate:ratio",
            f"slo:sli_error:ratio_rate{short}{flt}\n{join}slo:error_budget:ratio{flt}\n",
            common,
        ),
        (
            "slo:period_burn_rate:ratio",
            f"slo:sli_error:ratio_rate{period}{flt}\n{join}slo:error_budget:ratio{flt}\n",
            common,
        ),
        ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{flt}", common),
        ("sloth_slo_info", "vector(1)", _sorted(info)),
    ]
    return {
        "name": f"sloth-slo-meta-recordings-{ids['sloth_id']}",
        "rules": [{"record": r, "expr": e, "labels": lab} for r, e, lab in rules],
    }


def _alert_rules(slo: SLO, ids: dict, percent: float, windows: AlertWindows) -> list[dict]:
    alerting = slo.alerting
    if alerting is None:
        return []
    budget = go_float((100 - percent) / 100)
    flt = _filter(ids)

    def condition(window: BurnWindow, length: timedelta) -> str:
        factor = go_float(windows.factor(window))
        metric = f"slo:sli_error:ratio_rate{format_prom_duration(length)}{flt}"
        return f"    max({metric} > ({factor} * {budget})) without (sloth_window)\n"

    def pair(window: BurnWindow) -> str:
        return f"(\n{condition(window, window.short)}    and\n{condition(window, window.long)})\n"

    rules = []
    for severity, settings, quick, slow in (
        ("page", alerting.page, windows.page_quick, windows.page_slow),
        ("ticket", alerting.ticket, windows.ticket_quick, windows.ticket_slow),
    ):
        if not settings.enabled:
            continue
        title = (
            f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} "
            "SLO error budget burn rate is too fast."
        )
        summary = (
            "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected."
        )
        rules.append(
            {
                "alert": alerting.name,
                "expr": f"{pair(quick)}or\n{pair(slow)}",
                "labels": _sorted({"sloth_severity": severity, **alerting.labels, **settings.labels}),
                "annotations": _sorted(
                    {"title": title, "summary": summary, **alerting.annotations, **settings.annotations}
                ),
            }
        )
    return rules


class _Dumper(yaml.SafeDumper):
    """YAML as Go's yaml.v2 writes Prometheus rule files: block literals for multi-line strings,
    double quotes for strings that would read back as numbers or booleans, no anchors."""

    def ignore_aliases(self, data) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    tag = "tag:yaml.org,2002:str"
    if "\n" in value:
        return dumper.represent_scalar(tag, value, style="|")
    if dumper.resolve(yaml.ScalarNode, value, (True, False)) != tag:
        return dumper.represent_scalar(tag, value, style='"')
    return dumper.represent_scalar(tag, value)


_Dumper.add_representer(str, _represent_str)


def render(documents: list[list[dict]], *, version: str = f"opsledger-{__version__}") -> str:
    """Rule files as text: one YAML document of ``groups`` per input spec document."""
    header = (
        f"# Generated by opsledger ({version}) in the rule shape of Sloth: https://github.com/slok/sloth.\n"
        "# DO NOT EDIT.\n\n"
    )
    out = []
    for groups in documents:
        body = yaml.dump({"groups": groups}, Dumper=_Dumper, sort_keys=False, width=80, allow_unicode=True)
        out.append(f"\n---\n{header}{body}")
    return "".join(out)


def generate(slos: list[SLO], options: RuleOptions | None = None) -> str:
    """Rules for ``slos``: one output document per input document, as Sloth writes them."""
    options = options or RuleOptions()
    documents: dict[tuple, list[dict]] = {}
    for slo in slos:
        key = (str(slo.origin.path), slo.origin.document)
        documents.setdefault(key, []).extend(rule_groups(slo, options))
    return render(list(documents.values()), version=options.version)
