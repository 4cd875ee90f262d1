"""The SLO window an evaluation at an instant looks at: rolling (the last fixed duration) or
calendar-aligned (the current week, month, quarter, year — or N of them — in the spec's IANA time
zone, so a DST change gives a 23- or 25-hour day and months keep their 28–31 days).

Evaluations work on whole minutes (the grain of the facts): ``at`` is floored to the minute and
the window covers the complete minutes before it, in the period of the last of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsledger.slo.spec import TimeWindow

MINUTE = timedelta(minutes=1)
_MONTHS = {"M": 1, "Q": 3, "Y": 12}
_LOCAL_DAYS = {"d": 1, "w": 7}
# Without a startTime, calendar periods start at these local instants (ISO weeks start on Monday).
_WEEK_ANCHOR = datetime(1970, 1, 5)
_ANCHOR = datetime(1970, 1, 1)
# A nominal length for calendar periods, for burn-rate alert factors (Sloth's 30d month).
NOMINAL = {"w": timedelta(days=7), "M": timedelta(days=30), "Q": timedelta(days=90), "Y": timedelta(days=365)}


@dataclass(frozen=True)
class Window:
    """[start, end) is the whole period; [start, at) the part evaluated (all of it when rolling)."""

    start: datetime
    end: datetime
    at: datetime
    calendar: bool

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def elapsed_fraction(self) -> float:
        return (self.at - self.start) / self.length


def slice_count(start: datetime, end: datetime, slice_window: timedelta) -> int:
    """Slices of the period [start, end), aligned on ``start``; a partial last slice counts
    (Kibana rounds up too)."""
    return math.ceil((end - start) / slice_window)


def floor_minute(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"an evaluation instant needs a time zone: {at.isoformat()}")
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def window_at(time_window: TimeWindow, at: datetime) -> Window:
    at = floor_minute(at)
    if time_window.rolling:
        return Window(at - time_window.length, at, at, calendar=False)
    # The period of the last complete minute: at midnight on the 1st, the month just ended is whole.
    start, end = calendar_period(time_window, at - MINUTE)
    return Window(start, end, at, calendar=True)


def nominal_period(time_window: TimeWindow) -> timedelta:
    """The period burn-rate factors are derived from: the duration, 30 days for a month, and so on."""
    if time_window.length is not None:
        return time_window.length
    return NOMINAL[time_window.duration.unit] * time_window.duration.count


def calendar_period(time_window: TimeWindow, at: datetime) -> tuple[datetime, datetime]:
    """The calendar period holding ``at``, as UTC instants [start, end)."""
    zone = ZoneInfo(time_window.time_zone)
    unit, count = time_window.duration.unit, time_window.duration.count
    anchor = _anchor(time_window, zone, unit)
    at_local = at.astimezone(zone).replace(tzinfo=None)

    if unit in _MONTHS:
        step = _MONTHS[unit] * count
        months = (at_local.year - anchor.year) * 12 + at_local.month - anchor.month
        k = months // step

        def boundary(i: int) -> datetime:
            return _utc(_add_months(anchor, i * step), zone)
    elif unit in _LOCAL_DAYS:
        # Calendar days and weeks are wall-clock days in the zone, so DST days are 23 or 25 hours.
        step_days = _LOCAL_DAYS[unit] * count
        k = (at_local - anchor).days // step_days

        def boundary(i: int) -> datetime:
            return _utc(anchor + timedelta(days=i * step_days), zone)
    else:
        step = time_window.length
        origin = _utc(anchor, zone)
        k = (at - origin) // step

        def boundary(i: int) -> datetime:
            return origin + i * step

    # The estimate can be one off around a DST change or a clamped month day; settle it in UTC.
    while boundary(k) > at:
        k -= 1
    while boundary(k + 1) <= at:
        k += 1
    return boundary(k), boundary(k + 1)


def _anchor(time_window: TimeWindow, zone: ZoneInfo, unit: str) -> datetime:
    if time_window.start is not None:
        return time_window.start.astimezone(zone).replace(tzinfo=None)
    return _WEEK_ANCHOR if unit == "w" else _ANCHOR


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    last_day = (datetime(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC)
