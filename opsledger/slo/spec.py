"""The normalized SLO every input format is loaded into, and every SLO engine reads.

OpenSLO v1 is the model's vocabulary (objectives, time window, budgeting method, ratio or
threshold indicator); Sloth's ``prometheus/v1`` and OpenSLO ``v1alpha`` map onto it, keeping
what Sloth needs to reproduce its rules exactly (the objective as written, its alert settings).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsledger.contract import SCHEMAS
from opsledger.slo.durations import CALENDAR_UNITS, Shorthand

BudgetingMethod = Literal["Occurrences", "Timeslices", "RatioTimeslices"]
SpecFormat = Literal["openslo/v1", "openslo/v1alpha", "prometheus/v1"]
ThresholdOp = Literal["lt", "lte", "gt", "gte"]


class SpecProblem(Exception):
    """A problem at a field of one spec document (``loc`` as the user wrote it), found while
    mapping the document onto the model; the loader turns it into a one-line ``ConfigError``."""

    def __init__(self, loc: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.loc = loc
        self.message = message


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrometheusSource(_Model):
    """A PromQL query; ``{{.window}}`` in it stands for the range of each rule (Sloth's template)."""

    kind: Literal["prometheus"] = "prometheus"
    query: str = Field(min_length=1)


class SqlSource(_Model):
    """Events in a warehouse table: rows of ``table`` matching ``filter`` (a SQL boolean over its
    columns), each counting 1 or ``value``; or a whole ``query`` returning ``ts`` and ``value``."""

    kind: Literal["sql"] = "sql"
    table: str | None = None
    filter: str | None = None
    value: str | None = None
    timestamp: str = "ts"
    query: str | None = None

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("give either table (with an optional filter) or query, not both")
        if self.table is not None and self.table not in SCHEMAS:
            raise ValueError(f"unknown table {self.table!r} (one of: {', '.join(sorted(SCHEMAS))})")
        return self


class UnspecifiedSource(_Model):
    """OpenSLO examples name the placeholder source type ``Any``: the spec loads and validates, but
    there is nothing to collect or export until a real source is named."""

    kind: Literal["unspecified"] = "unspecified"
    type: str


Source = Annotated[PrometheusSource | SqlSource | UnspecifiedSource, Field(discriminator="kind")]


class RatioIndicator(_Model):
    """SLI = good / total, or 1 − bad / total."""

    kind: Literal["ratio"] = "ratio"
    good: Source | None = None
    bad: Source | None = None
    total: Source

    @model_validator(mode="after")
    def _good_or_bad(self) -> RatioIndicator:
        if (self.good is None) == (self.bad is None):
            raise ValueError("a ratio needs exactly one of good or bad, besides total")
        return self


class ThresholdIndicator(_Model):
    """A measured value compared with each objective's ``op`` / ``value`` (e.g. latency < 300 ms)."""

    kind: Literal["threshold"] = "threshold"
    source: Source


class ErrorRatioIndicator(_Model):
    """A query that already yields the error ratio (Sloth's ``raw`` SLI)."""

    kind: Literal["error_ratio"] = "error_ratio"
    source: Source


Indicator = Annotated[RatioIndicator | ThresholdIndicator | ErrorRatioIndicator, Field(discriminator="kind")]


class Objective(_Model):
    """``target`` is a ratio in (0, 1); ``target_percent`` keeps the percentage as the user wrote it
    (Sloth renders its rules from ``100 − objective``, and the last float digit shows)."""

    name: str | None = None
    display_name: str | None = None
    target: float = Field(gt=0, lt=1)
    target_percent: float = Field(gt=0, lt=100)
    op: ThresholdOp | None = None
    value: float | None = None
    time_slice_target: float | None = Field(default=None, gt=0, le=1)
    time_slice_window: timedelta | None = None

    @property
    def error_budget(self) -> float:
        return 1 - self.target


class TimeWindow(_Model):
    """Rolling (any fixed duration) or calendar-aligned (week, month, quarter, year, or a fixed
    length aligned on ``start``) in an IANA time zone."""

    duration: Shorthand
    rolling: bool = True
    time_zone: str = "UTC"
    start: datetime | None = None

    @property
    def length(self) -> timedelta | None:
        """Exact length, or None when it depends on the calendar (months, quarters, years)."""
        return self.duration.fixed

    @property
    def calendar_unit(self) -> str | None:
        return None if self.rolling else CALENDAR_UNITS.get(self.duration.unit)

    def describe(self) -> str:
        if self.rolling:
            return f"rolling {self.duration}"
        return f"calendar {self.duration} ({self.time_zone})"


class AlertSeverity(_Model):
    enabled: bool = True
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class AlertSettings(_Model):
    """Sloth's alerting block: one alert name, a page and a ticket severity."""

    name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    page: AlertSeverity = Field(default_factory=AlertSeverity)
    ticket: AlertSeverity = Field(default_factory=AlertSeverity)


class Origin(_Model):
    """Where a spec came from, for error messages and for Sloth's ``sloth_spec`` info label."""

    path: Path
    document: int = 1
    format: SpecFormat


class SLO(_Model):
    name: str
    service: str
    display_name: str | None = None
    description: str | None = None
    objectives: tuple[Objective, ...] = Field(min_length=1)
    time_window: TimeWindow
    budgeting_method: BudgetingMethod = "Occurrences"
    indicator: Indicator
    labels: dict[str, str] = Field(default_factory=dict)
    group_by: tuple[str, ...] = ()
    alerting: AlertSettings | None = None
    origin: Origin

    def objective_name(self, index: int) -> str:
        """The name of one objective as a series label: its own ``name`` when it has one, the SLO's
        name when it is the only one, else the SLO's name suffixed with its index (Sloth's way)."""
        objective = self.objectives[index]
        if objective.name:
            return objective.name
        return self.name if len(self.objectives) == 1 else f"{self.name}-{index}"
