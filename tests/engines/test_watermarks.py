"""Watermarks move forward only, survive a reopen, and are kept per (source, target)."""

from datetime import UTC, datetime

import pytest

from opsledger import watermarks


def test_watermarks_move_forward_only_and_are_per_source_and_target(tmp_path):
    t1, t2 = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)
    assert watermarks.get(tmp_path, "prom", "metric_samples") is None
    watermarks.advance(tmp_path, "prom", "metric_samples", t2)
    watermarks.advance(tmp_path, "prom", "metric_samples", t1)
    assert watermarks.get(tmp_path, "prom", "metric_samples") == t2
    assert watermarks.get(tmp_path, "prom", "log_records") is None
    assert not list(tmp_path.rglob("*.tmp"))


def test_naive_times_are_refused(tmp_path):
    with pytest.raises(ValueError, match="timezone-aware"):
        watermarks.advance(tmp_path, "s", "t", datetime(2026, 10, 1))
