"""The main job, in process, on the persistent Dagster instance (what ``opsledger demo`` runs).

Two runs: the ingest job over the whole day range as one single-run backfill, then the views
and marts. They run in this process (no daemon, no per-step subprocess, seconds instead of
minutes) but on the instance in ``$OPSLEDGER_HOME/dagster``, so the Dagster UI afterwards shows
every asset materialized and every check evaluated, as if the runs had been launched there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from opsledger.contract import INGEST_KINDS
from opsledger.errors import OpsledgerError
from opsledger.settings import Settings
from pipelines.definitions import build_definitions
from pipelines.resources import DUCKDB_POOL

Progress = Callable[[str], None]

INSTANCE_TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "dagster.yaml"

# Dagster's console logger would print every event of the run; the CLI shows progress instead.
_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass(frozen=True)
class MainJobSummary:
    start: date
    end: date
    files: int
    rows_per_table: dict[str, int]
    rows_quarantined: int
    mart_rows: dict[str, int]
    checks: dict[str, bool] = field(default_factory=dict)  # "<asset key>: <check name>" → passed
    run_ids: list[str] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, passed in self.checks.items() if not passed]


def ensure_instance(settings: Settings) -> Path:
    """``$OPSLEDGER_HOME/dagster`` with its ``dagster.yaml`` (copied from deploy/ when missing)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    return home


@contextmanager
def persistent_instance(settings: Settings) -> Iterator[dg.DagsterInstance]:
    home = ensure_instance(settings)
    # deploy/dagster.yaml places storage under `env: DAGSTER_HOME`; set it while the instance opens.
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def run_main_job(
    settings: Settings,
    *,
    start: date,
    end: date,
    progress: Progress | None = None,
    instance: dg.DagsterInstance | None = None,
) -> MainJobSummary:
    """Ingest every kind for the days ``start``…``end`` (inclusive), then refresh the views and
    rebuild the marts. Raises ``OpsledgerError`` naming the asset and its error if a run fails.
    ``instance`` defaults to the persistent one under ``settings.dagster_home``."""
    say = progress or (lambda message: None)
    defs = build_definitions(settings)
    ingest_job = defs.resolve_job_def("ingest_job")
    _check_range(ingest_job.partitions_def, start, end)
    with _instance_or(settings, instance) as active:
        _free_slots_of_finished_runs(active)
        days = (end - start).days + 1
        say(f"ingesting {len(INGEST_KINDS)} kinds of files for {days} day(s): one run")
        tags = {
            ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
        }
        ingested = _execute(defs, "ingest_job", active, tags)
        say("refreshing the warehouse views and building the marts: one run")
        built = _execute(defs, "marts_job", active, {})
    summary = _summarize(start, end, ingested, built)
    say(
        f"{sum(summary.rows_per_table.values())} rows in {len(summary.rows_per_table)} tables from "
        f"{summary.files} files, {summary.rows_quarantined} quarantined; mart rows {summary.mart_rows}"
    )
    for failed in summary.failed_checks:
        say(f"check failed: {failed}")
    return summary


@contextmanager
def _instance_or(settings: Settings, instance: dg.DagsterInstance | None) -> Iterator[dg.DagsterInstance]:
    if instance is not None:
        yield instance
    else:
        with persistent_instance(settings) as persistent:
            yield persistent


def _free_slots_of_finished_runs(instance: dg.DagsterInstance) -> None:
    """A run interrupted mid-step (Ctrl-C in ``opsledger demo``) can leave its DuckDB pool slot
    claimed, or its step queued for one; without the daemon's run monitoring nothing frees them
    and the next in-process run would wait forever. Runs still in progress are left alone."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits or DUCKDB_POOL not in storage.get_concurrency_keys():
        return
    info = storage.get_concurrency_info(DUCKDB_POOL)
    for run_id in {slot.run_id for slot in info.claimed_slots} | {step.run_id for step in info.pending_steps}:
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)


def _check_range(partitions: dg.PartitionsDefinition | None, start: date, end: date) -> None:
    if end < start:
        raise OpsledgerError(f"the range {start} … {end} ends before it starts")
    keys = partitions.get_partition_keys() if partitions else []
    if not keys:
        raise OpsledgerError("no daily partitions yet: partitions_start in opsledger.yaml is in the future")
    first, last = date.fromisoformat(keys[0]), date.fromisoformat(keys[-1])
    if start < first or end > last:
        raise OpsledgerError(
            f"days {start} … {end} are outside the daily partitions {first} … {last} "
            "(they start at partitions_start in opsledger.yaml and end today, UTC)"
        )


def _execute(
    defs: dg.Definitions, job_name: str, instance: dg.DagsterInstance, tags: dict[str, str]
) -> dg.ExecuteInProcessResult:
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, tags=tags, run_config=_QUIET, raise_on_error=False
    )
    if not result.success:
        steps = _assets_of_steps(defs)
        problems = [
            f"{steps.get(event.step_key, event.step_key)}: {_error_text(event)}"
            for event in result.get_step_failure_events()
        ]
        if not problems:  # failed outside any step (e.g. interrupted while waiting for the pool)
            problems = [e.message or "run failed" for e in result.all_events if e.is_run_failure]
        detail = "; ".join(problems) or "the run failed"
        raise OpsledgerError(f"{job_name} failed (Dagster run {result.run_id}): {detail}")
    return result


def _assets_of_steps(defs: dg.Definitions) -> dict[str, str]:
    names: dict[str, str] = {}
    for assets_def in defs.assets or []:
        if isinstance(assets_def, dg.AssetsDefinition):
            names[assets_def.node_def.name] = ", ".join(k.to_user_string() for k in sorted(assets_def.keys))
    return names


def _error_text(event: dg.DagsterEvent) -> str:
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    # User code errors arrive wrapped in "Error occurred while executing op …"; show the cause.
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[0] if error else "unknown error"


def _summarize(
    start: date, end: date, ingested: dg.ExecuteInProcessResult, built: dg.ExecuteInProcessResult
) -> MainJobSummary:
    # A ranged run records one materialization per partition, each with the run's totals.
    ingest_meta = _metadata_by_table(ingested)
    rows = {table: int(meta["rows"]) for table, meta in ingest_meta.items()}
    per_kind = [ingest_meta[tables[0]] for tables in INGEST_KINDS.values() if tables[0] in ingest_meta]
    marts = {table: int(meta["rows"]) for table, meta in _metadata_by_table(built).items() if "rows" in meta}
    checks = {
        f"{evaluation.asset_key.to_user_string()}: {evaluation.check_name}": evaluation.passed
        for result in (ingested, built)
        for evaluation in result.get_asset_check_evaluations()
    }
    return MainJobSummary(
        start=start,
        end=end,
        files=sum(int(meta["files"]) for meta in per_kind),
        rows_per_table=rows,
        rows_quarantined=sum(int(meta["rows_quarantined"]) for meta in per_kind),
        mart_rows={f"mart_{name}": count for name, count in marts.items()},
        checks=dict(sorted(checks.items())),
        run_ids=[ingested.run_id, built.run_id],
    )


def _metadata_by_table(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        table = materialization.asset_key.path[-1]
        found.setdefault(table, {k: v.value for k, v in materialization.metadata.items()})
    return found
