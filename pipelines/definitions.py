"""The one ``Definitions`` of opsledger: every domain merged, project-wide policy applied once.

Dagster loads it lazily (``@dg.definitions``): importing this module reads nothing, and loading
reads only the config (for the first partition day) — no DuckDB, no lake.
"""

from __future__ import annotations

import dagster as dg

from assets import funnels, ingest, metrics, slo
from opsledger.config import load_config
from opsledger.settings import Settings
from pipelines import jobs
from pipelines.live import live_defs
from pipelines.partitions import daily_partitions
from pipelines.resources import LakeResource, WarehouseResource


def build_definitions(settings: Settings) -> dg.Definitions:
    config = load_config(settings.config_path)
    partitions = daily_partitions(config.partitions_start)
    domains = [ingest.defs(partitions), metrics.defs(), funnels.defs(), slo.defs()]
    live = live_defs(settings, config, partitions)  # empty unless opsledger.yaml has a live: section
    return dg.Definitions(
        assets=[asset for domain in domains for asset in domain.assets] + live.assets,
        asset_checks=[check for domain in domains for check in domain.asset_checks],
        jobs=[jobs.ingest_job, jobs.marts_job, *live.jobs],
        schedules=[
            jobs.build_daily_ingest_schedule(config.partitions_start),
            jobs.daily_marts_schedule,
            *live.schedules,
        ],
        sensors=live.sensors,
        resources={
            "lake": LakeResource(lake_dir=str(settings.lake_dir), config_path=str(settings.config_path)),
            "warehouse": WarehouseResource(warehouse_path=str(settings.warehouse_path)),
            **live.resources,
        },
        # Ingest steps of different kinds run in parallel processes; DuckDB writers are serialized
        # across all runs by the `duckdb` pool, not by the executor.
        executor=dg.multiprocess_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings())
