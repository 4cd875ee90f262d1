"""OpenSLO ``v1alpha`` documents the way Sloth reads them: ratio metrics only, one SLO per
objective named ``<name>-<index>``, the target kept as Sloth's percentage arithmetic has it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from opsledger.slo.durations import Shorthand
from opsledger.slo.openslo import InputModel, MetadataIn, source_of_type
from opsledger.slo.spec import (
    SLO,
    BudgetingMethod,
    Objective,
    Origin,
    RatioIndicator,
    SpecProblem,
    TimeWindow,
)

_V1ALPHA_UNITS = {
    "Second": "s",
    "Minute": "m",
    "Hour": "h",
    "Day": "d",
    "Week": "w",
    "Month": "M",
    "Quarter": "Q",
    "Year": "Y",
}


class AlphaQueryIn(InputModel):
    source: str
    query_type: str | None = None
    query: str


class AlphaRatioIn(InputModel):
    good: AlphaQueryIn
    total: AlphaQueryIn


class AlphaObjectiveIn(InputModel):
    display_name: str | None = None
    ratio_metrics: AlphaRatioIn | None = None
    target: float


class AlphaWindowIn(InputModel):
    count: int
    unit: Literal["Second", "Minute", "Hour", "Day", "Week", "Month", "Quarter", "Year"]
    is_rolling: bool = True


class AlphaSpecIn(InputModel):
    service: str
    description: str | None = None
    budgeting_method: BudgetingMethod = "Occurrences"
    objectives: list[AlphaObjectiveIn]
    time_windows: list[AlphaWindowIn]


class AlphaDocIn(InputModel):
    metadata: MetadataIn
    spec: AlphaSpecIn


def slos_from_v1alpha(data: dict[str, Any], path: Path, document: int) -> list[SLO]:
    """One SLO per objective, named ``<name>-<index>`` as Sloth names them."""
    doc = AlphaDocIn.model_validate(data)
    spec = doc.spec
    if len(spec.time_windows) != 1:
        raise SpecProblem(("spec", "timeWindows"), "exactly one time window is required")
    alpha_window = spec.time_windows[0]
    if alpha_window.count <= 0:
        raise SpecProblem(("spec", "timeWindows", 0, "count"), f"must be positive, got {alpha_window.count}")
    duration = Shorthand(alpha_window.count, _V1ALPHA_UNITS[alpha_window.unit])
    if alpha_window.is_rolling and duration.fixed is None:
        raise SpecProblem(("spec", "timeWindows", 0, "unit"), "a rolling window needs a fixed length")
    window = TimeWindow(duration=duration, rolling=alpha_window.is_rolling)
    if not spec.objectives:
        raise SpecProblem(("spec", "objectives"), "at least one objective is required")
    slos = []
    for i, objective in enumerate(spec.objectives):
        at = ("spec", "objectives", i)
        if objective.ratio_metrics is None:
            raise SpecProblem(at + ("ratioMetrics",), "required: Sloth reads only ratio metrics from v1alpha")
        if not 0 < objective.target < 1:
            raise SpecProblem(at + ("target",), f"must be in (0, 1), got {objective.target}")
        ratio = objective.ratio_metrics
        good, total = (
            source_of_type(
                q.source, {"query": q.query}, at + ("ratioMetrics", side), type_key="source", spec_loc=()
            )
            for side, q in (("good", ratio.good), ("total", ratio.total))
        )
        slos.append(
            SLO(
                name=f"{doc.metadata.name}-{i}",
                service=spec.service,
                display_name=objective.display_name or doc.metadata.display_name,
                description=spec.description,
                # Sloth turns the ratio into a percentage and back; keep its arithmetic.
                objectives=(Objective(target=objective.target, target_percent=objective.target * 100),),
                time_window=window,
                budgeting_method=spec.budgeting_method,
                indicator=RatioIndicator(good=good, total=total),
                origin=Origin(path=path, document=document, format="openslo/v1alpha"),
            )
        )
    return slos
