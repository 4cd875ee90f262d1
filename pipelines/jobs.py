"""Jobs and schedules: ingest yesterday's files at 00:30 UTC, rebuild views and marts at 01:00 UTC."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import dagster as dg

from assets.ingest.assets import VIEWS_KEY

INGEST_SELECTION = dg.AssetSelection.key_prefixes(["raw"])
VIEWS_SELECTION = dg.AssetSelection.assets(VIEWS_KEY)
MARTS_SELECTION = VIEWS_SELECTION | dg.AssetSelection.key_prefixes(["mart"])

# Partitioned by the daily partitions of the raw assets it selects; checks of selected assets run too.
ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=INGEST_SELECTION,
    description="Ingest every configured source's files for the selected days into the lake; run checks.",
)

marts_job = dg.define_asset_job(
    "marts_job",
    selection=MARTS_SELECTION,
    description="Refresh the warehouse views over the lake and rebuild the marts, with checks.",
)


def build_daily_ingest_schedule(first_day: date) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="daily_ingest_schedule",
        cron_schedule="30 0 * * *",
        execution_timezone="UTC",
        job=ingest_job,
        description="At 00:30 UTC, ingest the day that just ended (its files are complete by then).",
    )
    def daily_ingest_schedule(context: dg.ScheduleEvaluationContext):
        day = (context.scheduled_execution_time.astimezone(UTC) - timedelta(days=1)).date()
        if day < first_day:
            return dg.SkipReason(f"{day} is before partitions_start ({first_day})")
        # run_key: a tick evaluated twice must not ingest the same day twice.
        return dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())

    return daily_ingest_schedule


daily_marts_schedule = dg.ScheduleDefinition(
    name="daily_marts_schedule",
    job=marts_job,
    cron_schedule="0 1 * * *",
    execution_timezone="UTC",
    description="At 01:00 UTC, after the daily ingest, refresh the views and rebuild the marts.",
)
