"""Error-budget sizes: how much failure an objective allows over a month or in time slices.

``reference/slo.md``: allowed downtime for a month = (1 − T) × minutes in that month (a month is
not 30 days: 99.9 % allows 40.32 min in February, 44.64 in a 31-day month), and a Timeslices
budget is (1 − T) × the number of slices in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)


def minutes_in_month(year: int, month: int, time_zone: str = "UTC") -> int:
    """Elapsed minutes of a calendar month in ``time_zone`` (a DST change makes it ±60)."""
    zone = ZoneInfo(time_zone)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    # Aware subtraction in one zone ignores the offset change; go through UTC to count real minutes.
    elapsed = end.astimezone(ZoneInfo("UTC")) - start.astimezone(ZoneInfo("UTC"))
    return int(elapsed / MINUTE)


def allowed_downtime_minutes(target: float, minutes: float) -> float:
    """Minutes of downtime the objective ``target`` allows out of ``minutes``."""
    return (1 - target) * minutes


@dataclass(frozen=True)
class TimesliceBudget:
    slices: int
    bad_slices: float
    minutes: float


def timeslice_budget(window: timedelta, slice_window: timedelta, target: float) -> TimesliceBudget:
    """Slices in ``window``, how many may be bad at ``target``, and how long that is."""
    if slice_window > window:
        raise ValueError("a slice cannot be longer than the window")
    slices = int(window // slice_window)
    bad = (1 - target) * slices
    return TimesliceBudget(slices=slices, bad_slices=bad, minutes=bad * (slice_window / MINUTE))
