"""What the ``live:`` section of ``opsledger.yaml`` adds to the definitions: collection assets, their
job and hourly schedule, the test-report sensor, and a resource per server. Nothing without it."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from opsledger.config import OpsledgerConfig
from opsledger.settings import Settings


@dataclass(frozen=True)
class LiveDefs:
    assets: list[dg.AssetsDefinition] = field(default_factory=list)
    jobs: list = field(default_factory=list)
    schedules: list[dg.ScheduleDefinition] = field(default_factory=list)
    sensors: list[dg.SensorDefinition] = field(default_factory=list)
    resources: dict[str, dg.ConfigurableResource] = field(default_factory=dict)


def live_defs(settings: Settings, config: OpsledgerConfig, partitions: dg.PartitionsDefinition) -> LiveDefs:
    if not config.live:
        return LiveDefs()
    # Imported only with a live section: the collectors load elasticsearch, ldap3 and requests.
    from assets import collect
    from opsledger.config_live import drop_folder
    from pipelines.collect_jobs import build_hourly_collect_schedule, collect_job
    from pipelines.live_resources import live_resources
    from pipelines.test_report_sensor import build_test_report_sensor, test_report_ingest_job

    live = config.live_sources
    assets = collect.defs(live, partitions).assets
    defs = LiveDefs(assets=assets, resources=live_resources(live))
    if assets:
        targets = collect.collect_targets(live)
        defs.jobs.append(collect_job)
        defs.schedules.append(
            build_hourly_collect_schedule(targets, settings.home_dir, config.partitions_start)
        )
    if live.test_report_drop:
        defs.jobs.append(test_report_ingest_job)
        defs.sensors.append(
            build_test_report_sensor(
                drop_folder(live.test_report_drop, config.base_dir), live.test_report_drop
            )
        )
    return defs
