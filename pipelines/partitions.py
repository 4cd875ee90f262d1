"""Daily partitions, one per UTC day from the config's ``partitions_start``."""

from __future__ import annotations

from datetime import date

import dagster as dg


def daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    # end_offset=1 makes today a partition too: a partial day can be ingested now and re-ingested
    # later (a re-run replaces that day's files), and the demo may end today.
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=1)


def days_in(keys: list[str]) -> list[date]:
    """The days a run covers, from its partition keys (YYYY-MM-DD)."""
    return [date.fromisoformat(key) for key in keys]
