"""The metrics domain: service traffic marts built from raw Prometheus samples, and their checks."""

from __future__ import annotations

from assets import DomainDefs
from assets.metrics.assets import service_traffic_marts
from assets.metrics.checks import service_traffic_checks


def defs() -> DomainDefs:
    return DomainDefs(assets=[service_traffic_marts], asset_checks=[service_traffic_checks])
