"""The ingest domain: raw tables from files into the lake, the warehouse views over them, checks."""

from __future__ import annotations

import dagster as dg

from assets import DomainDefs
from assets.ingest.assets import build_ingest_asset, warehouse_views
from assets.ingest.checks import ingest_checks
from opsledger.contract import INGEST_KINDS


def defs(partitions: dg.PartitionsDefinition) -> DomainDefs:
    raw = [build_ingest_asset(kind, partitions) for kind in INGEST_KINDS]
    return DomainDefs(assets=[*raw, warehouse_views], asset_checks=ingest_checks())
