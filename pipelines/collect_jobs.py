"""The collect job and its hourly schedule: collect the current day, and catch up after downtime.

Each hour the schedule asks, per collection asset, for the days from its watermark's day through
today: the current day is re-collected (the day's slice is replaced whole, so it only grows), and
days missed while the daemon or a server was down are collected again. A source never collected
has no watermark and gets only today: history is a backfill a person starts, not something an
hourly tick should take on by surprise. Assets with the same first day share one run over the
partition range; the runners commit day by day, so a failure keeps the days before it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from assets.collect import CollectTarget
from opsledger import watermarks

COLLECT_SELECTION = dg.AssetSelection.key_prefixes(["collect"])

collect_job = dg.define_asset_job(
    "collect_job",
    selection=COLLECT_SELECTION,
    description="Collect the live sources (Prometheus, Elasticsearch, LDAP) for the selected days.",
)


def first_day(home: Path, target: CollectTarget, today: date, partitions_start: date) -> date:
    """The first day the next collection of ``target`` must (re)collect."""
    if target.snapshot:
        return today
    mark = watermarks.get(home, target.source, target.table)
    if mark is None:
        return today
    return min(max(mark.astimezone(UTC).date(), partitions_start), today)


def build_hourly_collect_schedule(
    targets: list[CollectTarget], home: Path, partitions_start: date
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="hourly_collect_schedule",
        cron_schedule="5 * * * *",
        execution_timezone="UTC",
        job=collect_job,
        description="Every hour: collect today from each live source, and any day since its watermark.",
    )
    def hourly_collect_schedule(context: dg.ScheduleEvaluationContext):
        now = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
        today = now.date()
        by_first_day: dict[date, list[dg.AssetKey]] = defaultdict(list)
        for target in targets:
            by_first_day[first_day(home, target, today, partitions_start)].append(target.key)
        for first, keys in sorted(by_first_day.items()):
            # run_key: a tick evaluated twice must not start the same collection twice.
            run_key = f"{now:%Y-%m-%dT%H:%M}/{first.isoformat()}"
            if first == today:
                yield dg.RunRequest(run_key=run_key, asset_selection=keys, partition_key=today.isoformat())
            else:
                yield dg.RunRequest(
                    run_key=run_key,
                    asset_selection=keys,
                    tags={
                        ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
                        ASSET_PARTITION_RANGE_END_TAG: today.isoformat(),
                    },
                )

    return hourly_collect_schedule
