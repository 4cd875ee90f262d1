"""Burn-rate factors and alert-window catalogs against reference/slo.md (error-budget sizes are
checked through the engine in test_evaluate.py and test_sla.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opsledger.errors import ConfigError
from opsledger.slo.durations import format_prom_duration, parse_prom_duration
from opsledger.slo.rules import go_float
from opsledger.slo.windows import GOOGLE_28D, GOOGLE_30D, WindowCatalog, burn_rate_factor, load_alert_windows

SLOTH = Path(__file__).resolve().parents[2] / "data" / "slo" / "sloth"


@pytest.mark.parametrize(
    ("windows", "expected"),
    [(GOOGLE_30D, (14.4, 6, 3, 1)), (GOOGLE_28D, (13.44, 5.6, 2.8, 0.9333333333333333))],
    ids=["30d", "28d"],
)
def test_sloth_factors_for_the_default_windows(windows, expected):
    assert windows.factors == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("budget_percent", "period_days", "long_hours", "factor"),
    [(2, 30, 1, 14.4), (5, 30, 6, 6), (10, 30, 24, 3), (10, 30, 72, 1), (5, 30, 1, 36), (100, 30, 720, 1)],
)
def test_burn_rate_factor(budget_percent, period_days, long_hours, factor):
    got = burn_rate_factor(budget_percent, timedelta(days=period_days), timedelta(hours=long_hours))
    assert got == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize(
    ("name", "default"), [("windows-google-30d.yaml", GOOGLE_30D), ("windows-google-28d.yaml", GOOGLE_28D)]
)
def test_sloth_default_window_files_equal_the_built_in_defaults(name, default):
    assert load_alert_windows(SLOTH / name) == default


def test_custom_window_file():
    windows = load_alert_windows(SLOTH / "windows-custom-30d.yaml")
    assert windows.period == timedelta(days=30)
    assert (windows.page_quick.short, windows.page_quick.long) == (
        timedelta(minutes=2),
        timedelta(minutes=30),
    )
    assert windows.factors == pytest.approx((14.4, 4.8, 3, 1), rel=1e-12)
    assert WindowCatalog([windows]).get(timedelta(days=30)) is windows


def test_bad_window_file_names_the_field(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(
        (SLOTH / "windows-7d.yaml").read_text().replace("longWindow: 6h", "longWindow: six hours")
    )
    with pytest.raises(ConfigError) as info:
        load_alert_windows(path)
    assert (
        str(info.value)
        == f"{path}: spec.page.slow: not a Prometheus duration: 'six hours' (e.g. 5m, 1h30m, 30d)"
    )


@pytest.mark.parametrize(
    ("text", "prom"),
    [
        ("5m", "5m"),
        ("36h", "1d12h"),
        ("7d", "1w"),
        ("28d", "4w"),
        ("30d", "30d"),
        ("90d", "90d"),
        ("1h30m", "1h30m"),
    ],
)
def test_prometheus_durations_print_as_prometheus_does(text, prom):
    assert format_prom_duration(parse_prom_duration(text)) == prom


@pytest.mark.parametrize(
    ("value", "text"),
    [(99.9 / 100, "0.9990000000000001"), ((100 - 99.9) / 100, "0.0009999999999999432"), (6.0, "6"),
     (30.0, "30"), (14.4, "14.4"), (1e6, "1e+06"), (0.00001, "1e-05"), (123456.0, "123456"),
     (0.0001, "0.0001")],
)  # fmt: skip
def test_floats_print_as_go_prints_them(value, text):
    assert go_float(value) == text
