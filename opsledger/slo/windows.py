"""Multi-window, multi-burn-rate alert windows (SRE Workbook ch. 5) and their burn-rate factors.

A factor is the burn rate that spends ``budget_percent`` of the period's error budget within
the long window: ``budget_percent / 100 × period_hours / long_window_hours`` — computed in
that order, as Sloth does, so the floats (and the rules printed from them) match its own.
Catalogs are Sloth's ``AlertWindows`` documents; the defaults are its Google 30d and 28d ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml

from opsledger.errors import ConfigError
from opsledger.slo.durations import format_prom_duration, parse_prom_duration

HOUR = timedelta(hours=1)


def burn_rate_factor(budget_percent: float, period: timedelta, long_window: timedelta) -> float:
    """The burn rate that consumes ``budget_percent`` % of the budget of ``period`` in ``long_window``."""
    hours_to_consume = budget_percent * (period / HOUR) / 100
    return hours_to_consume / (long_window / HOUR)


@dataclass(frozen=True)
class BurnWindow:
    budget_percent: float
    short: timedelta
    long: timedelta


@dataclass(frozen=True)
class AlertWindows:
    """The four alerts of one SLO period: page quick/slow, ticket quick/slow."""

    period: timedelta
    page_quick: BurnWindow
    page_slow: BurnWindow
    ticket_quick: BurnWindow
    ticket_slow: BurnWindow

    def factor(self, window: BurnWindow) -> float:
        return burn_rate_factor(window.budget_percent, self.period, window.long)

    @property
    def factors(self) -> tuple[float, float, float, float]:
        """Page quick, page slow, ticket quick, ticket slow."""
        return tuple(self.factor(w) for w in self.all)  # type: ignore[return-value]

    @property
    def all(self) -> tuple[BurnWindow, BurnWindow, BurnWindow, BurnWindow]:
        return (self.page_quick, self.page_slow, self.ticket_quick, self.ticket_slow)

    def rule_windows(self) -> list[timedelta]:
        """Every short and long window once, shortest first: the SLI recording rules to write."""
        return sorted({d for w in self.all for d in (w.short, w.long)})


def _google(period_days: int) -> AlertWindows:
    # SRE Workbook's recommended parameters: 2 % in 1h, 5 % in 6h, 10 % in 1d, 10 % in 3d.
    return AlertWindows(
        period=timedelta(days=period_days),
        page_quick=BurnWindow(2, timedelta(minutes=5), timedelta(hours=1)),
        page_slow=BurnWindow(5, timedelta(minutes=30), timedelta(hours=6)),
        ticket_quick=BurnWindow(10, timedelta(hours=2), timedelta(days=1)),
        ticket_slow=BurnWindow(10, timedelta(hours=6), timedelta(days=3)),
    )


GOOGLE_30D = _google(30)
GOOGLE_28D = _google(28)


def load_alert_windows(path: Path) -> AlertWindows:
    """A Sloth ``AlertWindows`` file (``apiVersion: sloth.slok.dev/v1``)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if (
        not isinstance(data, dict)
        or data.get("apiVersion") != "sloth.slok.dev/v1"
        or data.get("kind") != "AlertWindows"
    ):
        raise ConfigError(
            f"{path}: not an alert windows spec (apiVersion sloth.slok.dev/v1, kind AlertWindows)"
        )
    spec = data.get("spec") or {}

    def window(severity: str, speed: str) -> BurnWindow:
        field = f"spec.{severity}.{speed}"
        raw = (spec.get(severity) or {}).get(speed)
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: {field}: required")
        try:
            budget = float(raw["errorBudgetPercent"])
            short, long = parse_prom_duration(raw["shortWindow"]), parse_prom_duration(raw["longWindow"])
        except KeyError as exc:
            raise ConfigError(f"{path}: {field}.{exc.args[0]}: required") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: {field}: {exc}") from None
        if not 0 < budget <= 100:
            raise ConfigError(f"{path}: {field}.errorBudgetPercent: must be in (0, 100], got {budget}")
        if short >= long:
            raise ConfigError(f"{path}: {field}: shortWindow must be shorter than longWindow")
        return BurnWindow(budget, short, long)

    try:
        period = parse_prom_duration(spec.get("sloPeriod"))
    except ValueError as exc:
        raise ConfigError(f"{path}: spec.sloPeriod: {exc}") from None
    return AlertWindows(
        period=period,
        page_quick=window("page", "quick"),
        page_slow=window("page", "slow"),
        ticket_quick=window("ticket", "quick"),
        ticket_slow=window("ticket", "slow"),
    )


class WindowCatalog:
    """Alert windows by SLO period. Custom files replace the defaults, as in Sloth."""

    def __init__(self, windows: list[AlertWindows] | None = None):
        self.by_period: dict[timedelta, AlertWindows] = {}
        for item in windows if windows is not None else [GOOGLE_30D, GOOGLE_28D]:
            if item.period in self.by_period:
                raise ConfigError(
                    f"two alert window specs for the period {format_prom_duration(item.period)}"
                )
            self.by_period[item.period] = item

    @classmethod
    def from_files(cls, paths: list[Path]) -> WindowCatalog:
        return cls([load_alert_windows(p) for p in paths]) if paths else cls()

    def get(self, period: timedelta) -> AlertWindows:
        if period not in self.by_period:
            known = ", ".join(format_prom_duration(p) for p in sorted(self.by_period))
            raise ConfigError(
                f"no alert windows for an SLO period of {format_prom_duration(period)} (known: {known}; "
                "add a Sloth AlertWindows file for it)"
            )
        return self.by_period[period]
