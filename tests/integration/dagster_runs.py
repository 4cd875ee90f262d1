"""What the collection-asset tests share: a home whose opsledger.yaml holds one live section, and
one in-process run of the collect job for some assets and a partition."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from opsledger.settings import Settings
from pipelines.definitions import build_definitions


def live_home(root: Path, kind: str, source: dict) -> Settings:
    """A fresh home whose opsledger.yaml configures ``source`` under ``live.<kind>``."""
    settings = Settings(home=root)
    settings.home_dir.mkdir(parents=True)
    # JSON is YAML: the live section written the way a generator of configs would.
    live = json.dumps({kind: [source]})
    settings.config_path.write_text(f"partitions_start: 2026-09-01\nlive: {live}\n", encoding="utf-8")
    return settings


def materialize(
    settings: Settings, instance: dg.DagsterInstance, partition: str, keys: list[dg.AssetKey]
) -> dg.ExecuteInProcessResult:
    job = build_definitions(settings).resolve_job_def("collect_job")
    return job.execute_in_process(
        partition_key=partition, asset_selection=keys, instance=instance, raise_on_error=False
    )
