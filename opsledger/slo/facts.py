"""SLO facts: good and total events per SLO group and UTC minute — the raw truth every evaluation,
history and alert replay is computed from, so a changed target or method recomputes any past.

Sources are SQL over a contract table (or a whole query) and Prometheus counters already stored
in ``metric_samples`` (raw, so increases are computed here with counter-reset handling). A minute
without events is absent from the facts, never a zero: missing data burns no budget. Minutes an
SLO correction excludes (``opsledger.slo.corrections``) are absent too, so every consumer of the
facts applies corrections retroactively without knowing about them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from opsledger import sql
from opsledger.contract import SCHEMAS, TS
from opsledger.slo.corrections import exclude_corrected
from opsledger.slo.spec import (
    SLO,
    ErrorRatioIndicator,
    PrometheusSource,
    RatioIndicator,
    SqlSource,
    ThresholdIndicator,
)

FACTS_SCHEMA = pa.schema(
    [
        ("slo", pa.string()),
        ("grp", pa.string()),
        ("minute", TS),
        ("good", pa.float64()),
        ("total", pa.float64()),
    ]
)
SIDE_SCHEMA = pa.schema([("grp", pa.string()), ("minute", TS), ("n", pa.float64())])
# A counter's first sample inside the range needs the sample before it as a baseline.
DEFAULT_LOOKBACK = timedelta(hours=1)
_OPERATORS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_MATCHER = re.compile(
    r"""\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*(?:,|$)"""
)
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_SELECTOR = re.compile(rf"^\s*({_NAME})\s*(?:\{{(.*)\}})?\s*$", re.S)
# Sloth writes its SLIs as sum(rate(<selector>[{{.window}}])): the same events, so it is accepted.
_SLOTH_WRAPPER = re.compile(r"^\s*sum\s*\(\s*(?:rate|increase)\s*\((.*)\[[^\]]*\]\s*\)\s*\)\s*$", re.S)


class SourceError(ValueError):
    """An SLI source the facts cannot be computed from (one clear line naming the SLO and query)."""


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value)


def parse_selector(query: str) -> Selector:
    """``metric{label="v",label=~"re",label!="v",label!~"re"}`` (optionally Sloth's
    ``sum(rate(…[{{.window}}]))`` around it); anything else is a ``SourceError``."""
    wrapped = _SLOTH_WRAPPER.match(query)
    text = wrapped.group(1) if wrapped else query
    match = _SELECTOR.match(text)
    if not match:
        raise SourceError(
            f"unsupported PromQL {query!r}: opsledger sums the counter series of one selector, "
            'like http_requests_total{code!~"5.."}'
        )
    matchers: list[tuple[str, str, str]] = []
    body = (match.group(2) or "").strip().rstrip(",")
    position = 0
    while position < len(body):
        part = _MATCHER.match(body, position)
        if not part or part.end() == position:
            raise SourceError(f"unsupported label matcher in {query!r} at {body[position:]!r}")
        quoted = part.group(3) if part.group(3) is not None else part.group(4)
        value = _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), quoted)
        if part.group(2) in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise SourceError(f"bad regex {value!r} in {query!r}: {exc}") from None
        matchers.append((part.group(1), part.group(2), value))
        position = part.end()
    return Selector(match.group(1), tuple(matchers))


def build_facts(
    con: duckdb.DuckDBPyConnection,
    slo: SLO,
    start: datetime,
    end: datetime,
    *,
    objective: int = 0,
    lookback: timedelta = DEFAULT_LOOKBACK,
) -> pa.Table:
    """Good and total events of ``slo`` per group and minute in [start, end), as ``FACTS_SCHEMA``.

    ``objective`` matters only for threshold SLIs, whose good events depend on its op and value."""
    indicator = slo.indicator
    bounds = {"start": start, "end": end}
    if isinstance(indicator, RatioIndicator):
        counts_bad = indicator.bad is not None
        part_source = indicator.bad if counts_bad else indicator.good
        part = _side(con, slo, part_source, bounds, lookback)
        total = _side(con, slo, indicator.total, bounds, lookback)
    elif isinstance(indicator, ThresholdIndicator):
        counts_bad = False
        part, total = _threshold_sides(con, slo, slo.objectives[objective], bounds)
    elif isinstance(indicator, ErrorRatioIndicator):
        raise SourceError(f"SLO {slo.name}: a raw error-ratio SLI has no event counts to keep as facts")
    else:  # pragma: no cover - the model has no other indicator kinds
        raise SourceError(f"SLO {slo.name}: unknown indicator {indicator!r}")
    return exclude_corrected(con, slo.name, _combine(con, slo.name, part, total, counts_bad))


def _combine(con, name: str, part: pa.Table, total: pa.Table, counts_bad: bool) -> pa.Table:
    params = {"slo": name, "counts_bad": counts_bad}
    result = sql.arrow(con, "slo/combine_facts", params, slo_part_side=part, slo_total_side=total)
    return _as_schema(result, FACTS_SCHEMA)


def _side(con, slo: SLO, source, bounds: dict, lookback: timedelta) -> pa.Table:
    if isinstance(source, PrometheusSource):
        selector = parse_selector(source.query)
        params = {
            **bounds,
            "lookback_start": bounds["start"] - lookback,
            "metric": selector.metric,
            "matchers": [{"label": k, "op": o, "value": v} for k, o, v in selector.matchers],
            "group_labels": list(slo.group_by),
        }
        if not selector.matchers:
            # DuckDB cannot infer the struct type of an empty list parameter; match everything instead.
            params["matchers"] = [{"label": "__name__", "op": "!=", "value": "\x00"}]
        return _as_schema(
            con.sql(sql.load("slo/select_counter_increases"), params=params).to_arrow_table(), SIDE_SCHEMA
        )
    if isinstance(source, SqlSource):
        relation, ts, grp = _relation(slo, source)
        text = sql.load("slo/select_table_events").format(
            grp=grp, ts=ts, relation=relation, weight=source.value or "1", predicate=source.filter or "true"
        )
        return _as_schema(_run(con, slo, text, bounds), SIDE_SCHEMA)
    raise SourceError(f"SLO {slo.name}: no data source to compute facts from ({source.kind})")


def _threshold_sides(con, slo: SLO, objective, bounds: dict) -> tuple[pa.Table, pa.Table]:
    source = slo.indicator.source
    if not isinstance(source, SqlSource):
        raise SourceError(f"SLO {slo.name}: threshold SLIs are computed from SQL sources only")
    relation, ts, grp = _relation(slo, source)
    measure = source.value or ("value" if source.query else None)
    if measure is None:
        raise SourceError(f"SLO {slo.name}: a threshold SLI over a table needs a value expression")
    text = sql.load("slo/select_table_threshold").format(
        grp=grp,
        ts=ts,
        relation=relation,
        measure=measure,
        op=_OPERATORS[objective.op],
        predicate=source.filter or "true",
    )
    both = _run(con, slo, text, {**bounds, "threshold": objective.value})
    good = both.select(["grp", "minute", "good"]).rename_columns(["grp", "minute", "n"])
    total = both.select(["grp", "minute", "total"]).rename_columns(["grp", "minute", "n"])
    return _as_schema(good, SIDE_SCHEMA), _as_schema(total, SIDE_SCHEMA)


def _relation(slo: SLO, source: SqlSource) -> tuple[str, str, str]:
    """The relation, timestamp column and group expression, each from an allow-list."""
    if source.table is not None:
        columns = set(SCHEMAS[source.table].names)
        relation = _quote(source.table)
    else:
        # The spec's own query (trusted config); its columns are unknown, so only shapes are checked.
        columns = None
        relation = f"({source.query})"
    for column in (source.timestamp, *slo.group_by):
        if columns is not None and column not in columns:
            raise SourceError(f"SLO {slo.name}: {source.table} has no column {column!r}")
        if not _IDENTIFIER.match(column):
            raise SourceError(f"SLO {slo.name}: not a column name: {column!r}")
    parts = [f"coalesce(cast({_quote(c)} as varchar), '')" for c in slo.group_by]
    grp = f"concat_ws(',', {', '.join(parts)})" if parts else "''"
    return relation, _quote(source.timestamp), grp


def _run(con, slo: SLO, text: str, params: dict) -> pa.Table:
    try:
        return con.sql(text, params=params).to_arrow_table()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise SourceError(f"SLO {slo.name}: its SQL source failed: {first}") from None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _as_schema(table, schema: pa.Schema) -> pa.Table:
    # DuckDB returns timestamptz in the session time zone; the contract is UTC.
    return table.select(schema.names).cast(schema)


FactsBuilder = Callable[..., pa.Table]


def covering_builder(
    con: duckdb.DuckDBPyConnection, slo: SLO, start: datetime, end: datetime
) -> FactsBuilder:
    """A ``build_facts`` stand-in that builds each objective's facts of ``slo`` once over
    [start, end) and answers every request inside that range with them.

    Evaluations, replays and SLA months each ask for facts over their own range; building them
    once is what keeps the marts from re-reading the same counters four or five times. A superset
    is safe: every consumer's SQL keeps only the minutes of its own windows, and per-minute
    counter increases do not depend on where the range starts (the lookback gives the baseline).
    A request outside the range is built on its own."""
    built: dict[int, pa.Table] = {}

    def facts(con_, slo_, lo, hi, *, objective: int = 0, lookback: timedelta = DEFAULT_LOOKBACK) -> pa.Table:
        if slo_ is not slo or lo < start or hi > end or lookback != DEFAULT_LOOKBACK:
            return build_facts(con_, slo_, lo, hi, objective=objective, lookback=lookback)
        if objective not in built:
            built[objective] = build_facts(con, slo, start, end, objective=objective)
        return built[objective]

    return facts
