"""Durations as SLO specs write them: OpenSLO shorthand (``2w``, ``1M``) and Prometheus (``1d12h``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

# OpenSLO v1 duration shorthand: one count and one unit. M, Q and Y have no fixed length, so they
# only make sense for calendar-aligned windows.
_SHORTHAND = re.compile(r"^(\d+)([smhdwMQY])$")
_FIXED = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
# The shortest a calendar unit can be, for "is the slice longer than the window" checks.
_SHORTEST = {"M": timedelta(days=28), "Q": timedelta(days=89), "Y": timedelta(days=365)}
CALENDAR_UNITS = {"w": "week", "M": "month", "Q": "quarter", "Y": "year"}

_PROM_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_PROM_UNITS = {
    "y": timedelta(days=365),
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
}


@dataclass(frozen=True)
class Shorthand:
    """``count`` × ``unit`` as written (``2w`` → 2, "w")."""

    count: int
    unit: str

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def fixed(self) -> timedelta | None:
        """The exact length, or None for months, quarters and years."""
        step = _FIXED.get(self.unit)
        return step * self.count if step else None

    @property
    def shortest(self) -> timedelta:
        return self.fixed or _SHORTEST[self.unit] * self.count


def parse_shorthand(text: object) -> Shorthand:
    """``"2w"`` → Shorthand(2, "w"); raises ValueError with a message fit for a user."""
    match = _SHORTHAND.match(str(text).strip()) if isinstance(text, str | int) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"not a duration: {text!r} (expected a positive count and one unit of s, m, h, d, w, M, Q, Y, "
            "e.g. 28d or 1M)"
        )
    return Shorthand(int(match.group(1)), match.group(2))


def parse_prom_duration(text: object) -> timedelta:
    """A Prometheus duration (``5m``, ``1h30m``, ``36h``) → timedelta; ValueError when unparseable."""
    value = str(text).strip() if isinstance(text, str) else ""
    parts = _PROM_PART.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not a Prometheus duration: {text!r} (e.g. 5m, 1h30m, 30d)")
    total = sum((_PROM_UNITS[unit] * int(count) for count, unit in parts), timedelta())
    if total <= timedelta():
        raise ValueError(f"duration must be positive, got {text!r}")
    return total


def format_prom_duration(value: timedelta) -> str:
    """Prometheus' own rendering (``model.Duration.String``): 7d → ``1w``, 36h → ``1d12h``.

    Sloth names its recording rules and ``sloth_window`` labels this way, so we must too."""
    ms = int(value / timedelta(milliseconds=1))
    if ms == 0:
        return "0s"
    out = ""
    # Years and weeks only when exact: Prometheus prefers 90d over 12w6d.
    for unit, exact in (("y", True), ("w", True), ("d", False), ("h", False), ("m", False)):
        size = int(_PROM_UNITS[unit] / timedelta(milliseconds=1))
        if exact and ms % size:
            continue
        if ms // size:
            out += f"{ms // size}{unit}"
            ms %= size
    if ms // 1000:
        out += f"{ms // 1000}s"
        ms %= 1000
    if ms:
        out += f"{ms}ms"
    return out
