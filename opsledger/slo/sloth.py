"""Sloth ``prometheus/v1`` specs → the normalized ``SLO``, so a team moves from Sloth unchanged.

The input models mirror Sloth's YAML (snake_case) and forbid unknown keys: a misspelt
``error_querry`` fails naming the field instead of producing rules without an SLI.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsledger.slo.durations import Shorthand, parse_shorthand
from opsledger.slo.spec import (
    SLO,
    AlertSettings,
    AlertSeverity,
    ErrorRatioIndicator,
    Objective,
    Origin,
    PrometheusSource,
    RatioIndicator,
    SpecProblem,
    TimeWindow,
)

# Sloth's own rule for service and SLO names (they become label values and rule-group names).
_NAME = r"^[A-Za-z0-9][-A-Za-z0-9_.]*$"
_WINDOW = re.compile(r"{{\s*\.window\s*}}")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventsIn(_In):
    error_query: str
    total_query: str

    @field_validator("error_query", "total_query")
    @classmethod
    def _templated(cls, value: str) -> str:
        return _has_window(value)


class RawIn(_In):
    error_ratio_query: str

    @field_validator("error_ratio_query")
    @classmethod
    def _templated(cls, value: str) -> str:
        return _has_window(value)


class PluginIn(_In):
    id: str
    options: dict[str, Any] = {}


class SliIn(_In):
    events: EventsIn | None = None
    raw: RawIn | None = None
    plugin: PluginIn | None = None


class SeverityIn(_In):
    disable: bool = False
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class AlertingIn(_In):
    name: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    page_alert: SeverityIn = SeverityIn()
    ticket_alert: SeverityIn = SeverityIn()


class SloIn(_In):
    name: str = Field(pattern=_NAME)
    objective: float
    description: str | None = None
    labels: dict[str, str] = {}
    sli: SliIn
    alerting: AlertingIn = AlertingIn()

    @field_validator("objective")
    @classmethod
    def _percent(cls, value: float) -> float:
        if not 0 < value < 100:
            raise ValueError(f"must be a percentage in (0, 100), got {value}")
        return value


class SpecIn(_In):
    version: Literal["prometheus/v1"]
    service: str = Field(pattern=_NAME)
    labels: dict[str, str] = {}
    slos: list[SloIn] = Field(min_length=1)


def _has_window(query: str) -> str:
    if not _WINDOW.search(query):
        raise ValueError(
            "the query needs the {{.window}} placeholder where its range goes, e.g. [{{.window}}]"
        )
    return query


def slos_from_prometheus_v1(data: dict[str, Any], path: Path, document: int, period: str) -> list[SLO]:
    spec = SpecIn.model_validate(data)
    duration: Shorthand = parse_shorthand(period)
    slos = []
    for i, slo in enumerate(spec.slos):
        at = ("slos", i)
        if slo.sli.plugin is not None:
            raise SpecProblem(
                at + ("sli", "plugin"), "Sloth SLI plugins are Go code inside Sloth; use events or raw"
            )
        if (slo.sli.events is None) == (slo.sli.raw is None):
            raise SpecProblem(at + ("sli",), "give exactly one of events or raw")
        if slo.sli.events is not None:
            indicator = RatioIndicator(
                bad=PrometheusSource(query=slo.sli.events.error_query),
                total=PrometheusSource(query=slo.sli.events.total_query),
            )
        else:
            indicator = ErrorRatioIndicator(source=PrometheusSource(query=slo.sli.raw.error_ratio_query))
        alerting = slo.alerting
        page, ticket = alerting.page_alert, alerting.ticket_alert
        if not alerting.name and not (page.disable and ticket.disable):
            raise SpecProblem(
                at + ("alerting", "name"), "required unless page and ticket alerts are disabled"
            )
        slos.append(
            SLO(
                name=slo.name,
                service=spec.service,
                description=slo.description,
                objectives=(Objective(target=slo.objective / 100, target_percent=slo.objective),),
                time_window=TimeWindow(duration=duration),
                indicator=indicator,
                labels={**spec.labels, **slo.labels},
                alerting=AlertSettings(
                    name=alerting.name,
                    labels=alerting.labels,
                    annotations=alerting.annotations,
                    page=AlertSeverity(
                        enabled=not page.disable, labels=page.labels, annotations=page.annotations
                    ),
                    ticket=AlertSeverity(
                        enabled=not ticket.disable, labels=ticket.labels, annotations=ticket.annotations
                    ),
                ),
                origin=Origin(path=path, document=document, format="prometheus/v1"),
            )
        )
    return slos
