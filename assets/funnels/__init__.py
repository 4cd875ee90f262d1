"""The funnels domain: the configured product funnels computed into marts, and their checks."""

from __future__ import annotations

from assets import DomainDefs
from assets.funnels.assets import funnel_marts
from assets.funnels.checks import funnel_counts_never_increase


def defs() -> DomainDefs:
    return DomainDefs(assets=[funnel_marts], asset_checks=[funnel_counts_never_increase])
