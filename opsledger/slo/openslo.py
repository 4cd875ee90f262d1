"""OpenSLO documents → the normalized ``SLO``: v1 (``kind: SLO`` with an inline indicator or an
``indicatorRef`` to a ``kind: SLI``) and v1alpha the way Sloth reads it (ratio metrics only).

The input models mirror the YAML field names, so a validation error's location is the path
the user wrote (``spec.objectives[0].target``).

Grouped SLOs (one instance per value of some columns or labels, e.g. per service or tenant) are
declared with an OpenSLO v1 metadata annotation, since OpenSLO has no field for them::

    metadata:
      name: api-availability-per-tenant
      annotations:
        opsledger.io/group-by: service,tenant_id

The value is a comma-separated list of column names of the indicator's SQL table (every SQL
source of the indicator must have them) or of Prometheus label names; each instance is named by
its values joined with commas (``checkout,acme``) in the ``group`` field of every result.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from opsledger.contract import SCHEMAS
from opsledger.slo.durations import Shorthand, parse_shorthand
from opsledger.slo.spec import (
    SLO,
    BudgetingMethod,
    ErrorRatioIndicator,
    Objective,
    Origin,
    PrometheusSource,
    RatioIndicator,
    Source,
    SpecProblem,
    SqlSource,
    ThresholdIndicator,
    ThresholdOp,
    TimeWindow,
    UnspecifiedSource,
)

Loc = tuple[str | int, ...]
GROUP_BY_ANNOTATION = "opsledger.io/group-by"
_GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InputModel(BaseModel):
    # OpenSLO documents carry many fields opsledger does not use (alertPolicies, annotations…).
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)


class MetadataIn(InputModel):
    name: str
    display_name: str | None = None
    labels: dict[str, str | list[str]] | None = None
    annotations: dict[str, str] | None = None


class MetricSourceIn(InputModel):
    metric_source_ref: str | None = None
    type: str | None = None
    spec: dict[str, Any] = {}


class MetricIn(InputModel):
    metric_source: MetricSourceIn


class RatioMetricIn(InputModel):
    good: MetricIn | None = None
    bad: MetricIn | None = None
    total: MetricIn | None = None
    raw: MetricIn | None = None
    raw_type: Literal["success", "failure"] | None = None


class IndicatorSpecIn(InputModel):
    ratio_metric: RatioMetricIn | None = None
    threshold_metric: MetricIn | None = None


class IndicatorIn(InputModel):
    metadata: MetadataIn | None = None
    spec: IndicatorSpecIn


class CalendarIn(InputModel):
    start_time: datetime | None = None
    time_zone: str

    @field_validator("time_zone")
    @classmethod
    def _iana(cls, value: str) -> str:
        return check_time_zone(value)


class TimeWindowIn(InputModel):
    duration: Shorthand
    is_rolling: bool | None = None
    calendar: CalendarIn | None = None

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: object) -> Shorthand:
        return parse_shorthand(value)


class ObjectiveIn(InputModel):
    name: str | None = None
    display_name: str | None = None
    op: ThresholdOp | None = None
    value: float | None = None
    target: float | None = None
    target_percent: float | None = None
    time_slice_target: float | None = None
    time_slice_window: Shorthand | None = None

    @field_validator("time_slice_window", mode="before")
    @classmethod
    def _window(cls, value: object) -> Shorthand | None:
        # OpenSLO allows a bare number of seconds here.
        return None if value is None else parse_shorthand(f"{value}s" if isinstance(value, int) else value)


class SloSpecIn(InputModel):
    service: str
    description: str | None = None
    indicator: IndicatorIn | None = None
    indicator_ref: str | None = None
    time_window: list[TimeWindowIn]
    budgeting_method: BudgetingMethod
    objectives: list[ObjectiveIn]


class SloDocIn(InputModel):
    metadata: MetadataIn
    spec: SloSpecIn


class NamedDocuments:
    """``kind: SLI`` and ``kind: DataSource`` documents by name, for references from SLOs."""

    def __init__(self) -> None:
        self.indicators: dict[str, IndicatorIn] = {}
        self.data_sources: dict[str, dict[str, Any]] = {}

    def add(self, data: dict[str, Any]) -> None:
        name = MetadataIn.model_validate(data.get("metadata")).name
        if data["kind"] == "SLI":
            self.indicators[name] = IndicatorIn.model_validate(data, from_attributes=False)
        else:
            self.data_sources[name] = data.get("spec") or {}


def check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (expected an IANA name like Europe/Paris)") from None
    return value


def slo_from_v1(data: dict[str, Any], path: Path, document: int, named: NamedDocuments) -> SLO:
    doc = SloDocIn.model_validate(data)
    spec = doc.spec
    if spec.indicator is not None:
        indicator_in, at = spec.indicator, ("spec", "indicator")
    elif spec.indicator_ref is not None:
        if spec.indicator_ref not in named.indicators:
            raise SpecProblem(("spec", "indicatorRef"), f"no kind: SLI named {spec.indicator_ref!r} found")
        indicator_in, at = named.indicators[spec.indicator_ref], ("spec", "indicatorRef")
    else:
        raise SpecProblem(("spec",), "an SLO needs an indicator or an indicatorRef")
    window = _time_window(spec.time_window)
    objectives = tuple(_objective(o, ("spec", "objectives", i)) for i, o in enumerate(spec.objectives))
    if not objectives:
        raise SpecProblem(("spec", "objectives"), "at least one objective is required")
    indicator = _indicator(indicator_in.spec, at + ("spec",), named)
    for i, objective in enumerate(objectives):
        _check_objective(objective, spec.budgeting_method, window, indicator, ("spec", "objectives", i))
    labels = {k: ",".join(v) if isinstance(v, list) else v for k, v in (doc.metadata.labels or {}).items()}
    group_by = _group_by(doc.metadata.annotations or {}, indicator)
    return SLO(
        name=doc.metadata.name,
        service=spec.service,
        display_name=doc.metadata.display_name,
        description=spec.description,
        objectives=objectives,
        time_window=window,
        budgeting_method=spec.budgeting_method,
        indicator=indicator,
        labels=labels,
        group_by=group_by,
        origin=Origin(path=path, document=document, format="openslo/v1"),
    )


def _group_by(annotations: dict[str, str], indicator) -> tuple[str, ...]:
    text = annotations.get(GROUP_BY_ANNOTATION)
    if text is None:
        return ()
    at = ("metadata", "annotations", GROUP_BY_ANNOTATION)
    names = tuple(part.strip() for part in text.split(","))
    if not all(names):
        raise SpecProblem(at, f"expected comma-separated column or label names, got {text!r}")
    for name in names:
        if not _GROUP_NAME.match(name):
            raise SpecProblem(at, f"not a column or label name: {name!r}")
    if len(set(names)) != len(names):
        raise SpecProblem(at, f"a name is repeated in {text!r}")
    sources = [getattr(indicator, side, None) for side in ("good", "bad", "total", "source")]
    for source in sources:
        if isinstance(source, SqlSource) and source.table is not None:
            missing = [n for n in names if n not in SCHEMAS[source.table].names]
            if missing:
                raise SpecProblem(at, f"{source.table} has no column {missing[0]!r}")
    return names


def _time_window(windows: list[TimeWindowIn]) -> TimeWindow:
    if len(windows) != 1:
        raise SpecProblem(("spec", "timeWindow"), f"exactly one time window is required, got {len(windows)}")
    window, at = windows[0], ("spec", "timeWindow", 0)
    rolling = window.is_rolling if window.is_rolling is not None else window.calendar is None
    if rolling and window.duration.fixed is None:
        raise SpecProblem(
            at + ("duration",), f"a rolling window needs a fixed length (m, h, d, w), got {window.duration}"
        )
    if not rolling and window.calendar is None:
        raise SpecProblem(at + ("calendar",), "a calendar-aligned window (isRolling: false) needs a calendar")
    zone = window.calendar.time_zone if window.calendar else "UTC"
    start = window.calendar.start_time if window.calendar else None
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(zone))  # OpenSLO's startTime is local to timeZone
    return TimeWindow(duration=window.duration, rolling=rolling, time_zone=zone, start=start)


def _objective(objective: ObjectiveIn, at: Loc) -> Objective:
    if (objective.target is None) == (objective.target_percent is None):
        raise SpecProblem(at, "give exactly one of target or targetPercent")
    if objective.target is not None:
        if not 0 < objective.target < 1:
            raise SpecProblem(at + ("target",), f"must be in (0, 1), got {objective.target}")
        target, percent = objective.target, objective.target * 100
    else:
        percent = objective.target_percent
        if not 0 < percent < 100:
            raise SpecProblem(at + ("targetPercent",), f"must be in (0, 100), got {percent}")
        target = percent / 100
    slice_target = objective.time_slice_target
    if slice_target is not None and not 0 < slice_target <= 1:
        raise SpecProblem(at + ("timeSliceTarget",), f"must be in (0, 1], got {slice_target}")
    return Objective(
        name=objective.name,
        display_name=objective.display_name,
        target=target,
        target_percent=percent,
        op=objective.op,
        value=objective.value,
        time_slice_target=slice_target,
        time_slice_window=objective.time_slice_window.fixed if objective.time_slice_window else None,
    )


def _check_objective(objective, method: str, window: TimeWindow, indicator, at: Loc) -> None:
    if method in ("Timeslices", "RatioTimeslices") and objective.time_slice_window is None:
        raise SpecProblem(at + ("timeSliceWindow",), f"required with budgetingMethod {method}")
    if method == "Timeslices" and objective.time_slice_target is None:
        raise SpecProblem(at + ("timeSliceTarget",), "required with budgetingMethod Timeslices")
    slice_window = objective.time_slice_window
    if slice_window is not None and slice_window > window.duration.shortest:
        raise SpecProblem(
            at + ("timeSliceWindow",), f"a slice is longer than the time window {window.duration}"
        )
    if isinstance(indicator, ThresholdIndicator) and (objective.op is None or objective.value is None):
        raise SpecProblem(at, "a threshold indicator needs op and value on each objective")


def _indicator(spec: IndicatorSpecIn, at: Loc, named: NamedDocuments):
    if (spec.ratio_metric is None) == (spec.threshold_metric is None):
        raise SpecProblem(at, "give exactly one of ratioMetric or thresholdMetric")
    if spec.threshold_metric is not None:
        metric_at = at + ("thresholdMetric", "metricSource")
        return ThresholdIndicator(source=_source(spec.threshold_metric.metric_source, metric_at, named))
    ratio, at = spec.ratio_metric, at + ("ratioMetric",)
    if ratio.raw is not None:
        source = _source(ratio.raw.metric_source, at + ("raw", "metricSource"), named)
        if ratio.raw_type != "failure":
            raise SpecProblem(at + ("rawType",), "only rawType: failure (an error ratio) is supported")
        return ErrorRatioIndicator(source=source)
    if ratio.total is None:
        raise SpecProblem(at + ("total",), "required: a ratio metric needs total and one of good or bad")
    if (ratio.good is None) == (ratio.bad is None):
        raise SpecProblem(at, "a ratio metric needs exactly one of good or bad")
    side = "good" if ratio.good is not None else "bad"
    part = _source(getattr(ratio, side).metric_source, at + (side, "metricSource"), named)
    total = _source(ratio.total.metric_source, at + ("total", "metricSource"), named)
    return RatioIndicator(**{side: part, "total": total})


def _source(source: MetricSourceIn, at: Loc, named: NamedDocuments) -> Source:
    kind, spec = source.type, dict(source.spec)
    if source.metric_source_ref is not None:
        if source.metric_source_ref not in named.data_sources:
            raise SpecProblem(
                at + ("metricSourceRef",), f"no kind: DataSource named {source.metric_source_ref!r}"
            )
        data_source = named.data_sources[source.metric_source_ref]
        kind = kind or data_source.get("type")
    if not kind:
        raise SpecProblem(at + ("type",), "required: the metric source type (Prometheus or SQL)")
    return source_of_type(kind, spec, at)


def source_of_type(
    kind: str, spec: dict[str, Any], at: Loc, *, type_key: str = "type", spec_loc: Loc = ("spec",)
) -> Source:
    """A metric source from its type name; unknown types fail naming the field."""
    lowered = kind.lower()
    if lowered == "prometheus":
        query = spec.get("query", spec.get("promql"))
        if not isinstance(query, str) or not query.strip():
            raise SpecProblem(at + spec_loc + ("query",), "required: the PromQL query")
        return PrometheusSource(query=query)
    if lowered in ("sql", "duckdb"):
        try:
            return SqlSource.model_validate(spec)
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = at + spec_loc + tuple(error["loc"])
            raise SpecProblem(loc, error["msg"].removeprefix("Value error, ")) from None
    if lowered == "any":
        return UnspecifiedSource(type=kind)
    raise SpecProblem(
        at + (type_key,), f"unknown metric source type {kind!r} (opsledger reads Prometheus or SQL)"
    )
