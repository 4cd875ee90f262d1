"""``opsledger collect prometheus`` with the live section of opsledger.yaml: every configured source,
or the one ``--name`` picks, against the real Prometheus fixture."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner

from opsledger.cli import main

from .test_prometheus_live import lake_rows, reference


def test_configured_sources_all_or_the_named_one(home, prometheus):
    demo_day = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC))
    home.home_dir.mkdir(parents=True)
    home.config_path.write_text(
        f"""\
live:
  prometheus:
    - {{name: demo, url: '{prometheus.url}', queries: [{{query: up, step: 5m}}]}}
    - {{name: other, url: '{prometheus.url}', queries: [{{name: targets_up, query: 'sum(up)', step: 1h}}]}}
"""
    )
    window = ["--start", "2026-10-01", "--end", "2026-10-02"]
    named = CliRunner().invoke(main, ["collect", "prometheus", "--name", "other", *window])
    assert named.exit_code == 0, named.output
    assert "prometheus:other: 1 day(s)" in named.output and "prometheus:demo" not in named.output
    assert sorted({metric for metric, *_ in lake_rows(home)}) == ["targets_up"]
    hourly = reference(prometheus.url, "sum(up)", *demo_day, 3600)
    assert {row[2:] for row in lake_rows(home)} == {row[2:] for row in hourly} and len(hourly) > 20

    every = CliRunner().invoke(main, ["collect", "prometheus", *window])
    assert every.exit_code == 0, every.output
    assert "prometheus:demo: 1 day(s)" in every.output and "prometheus:other: 1 day(s)" in every.output
    metrics = [metric for metric, *_ in lake_rows(home)]
    # the re-run of "other" replaced its day: no duplicate
    assert metrics.count("targets_up") == len(hourly) and metrics.count("up") > len(hourly)
