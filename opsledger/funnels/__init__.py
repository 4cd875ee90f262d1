"""Funnels with PostHog's semantics, computed in DuckDB (see ``engine`` and ``spec``)."""

from opsledger.funnels.engine import funnel_people, funnel_steps, funnel_trends, time_to_convert
from opsledger.funnels.spec import Exclusion, FunnelSpec, Step, parse_window

__all__ = [
    "Exclusion",
    "FunnelSpec",
    "Step",
    "funnel_people",
    "funnel_steps",
    "funnel_trends",
    "parse_window",
    "time_to_convert",
]
