"""The collect domain: live sources of ``opsledger.yaml`` (``live:``) collected per day into the lake."""

from __future__ import annotations

import dagster as dg

from assets import DomainDefs
from assets.collect.assets import CollectTarget, collect_assets, collect_targets
from opsledger.config_live import LiveSources

__all__ = ["CollectTarget", "collect_targets", "defs"]


def defs(live: LiveSources, partitions: dg.PartitionsDefinition) -> DomainDefs:
    return DomainDefs(assets=collect_assets(live, partitions))
