"""The Prometheus collection asset, materialized in process against the real Prometheus fixture:
a partition stores exactly what ``opsledger collect prometheus`` stores for that day (and what
Prometheus' own query_range returns), reports it as metadata, and a second run changes no count."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from click.testing import CliRunner

from opsledger import watermarks
from opsledger.settings import Settings

from .. import dagster_runs
from .test_prometheus_live import CHECKOUT, batches, lake_rows, reference

KEY = dg.AssetKey(["collect", "prometheus", "demo"])
DAY = "2026-10-01"


def live_home(root, url: str) -> Settings:
    queries = [{"query": "up", "step": "5m"}, {"query": CHECKOUT, "step": 60}]
    source = {"name": "demo", "url": url, "retries": 1, "backoff_s": 0.01, "queries": queries}
    return dagster_runs.live_home(root, "prometheus", source)


def materialize(
    settings: Settings, instance: dg.DagsterInstance, partition: str
) -> dg.ExecuteInProcessResult:
    return dagster_runs.materialize(settings, instance, partition, [KEY])


def test_partition_equals_cli_collection_and_rerun_changes_nothing(prometheus, tmp_path, monkeypatch):
    dagster_home = live_home(tmp_path / "dagster", prometheus.url)
    cli_home = live_home(tmp_path / "cli", prometheus.url)
    day_start, day_end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)

    with dg.instance_for_test() as instance:
        result = materialize(dagster_home, instance, DAY)
        assert result.success
        stored = lake_rows(dagster_home)

        monkeypatch.setenv("OPSLEDGER_HOME", str(cli_home.home_dir))
        monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
        from opsledger.cli_collect import collect

        cli = CliRunner().invoke(collect, ["prometheus", "--start", DAY, "--end", "2026-10-02"])
        assert cli.exit_code == 0, cli.output
        assert sorted(stored) == sorted(lake_rows(cli_home))

        expected = reference(prometheus.url, "up", day_start, day_end, 300) | reference(
            prometheus.url, CHECKOUT, day_start, day_end, 60
        )
        assert set(stored) == expected and len(stored) == len(expected) > 1000
        day_us = (int(day_start.timestamp()) * 1_000_000, int(day_end.timestamp()) * 1_000_000)
        assert all(day_us[0] <= ts < day_us[1] for _, _, ts, _ in stored)

        (materialization,) = [
            e.materialization
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        ]
        assert materialization.partition == DAY
        meta = {k: v.value for k, v in materialization.metadata.items()}
        assert (meta["partitions"], meta["rows_written"], meta["rows_quarantined"]) == (DAY, len(expected), 0)
        assert meta["rows_read"] == len(expected) and meta["source"] == "prometheus:demo"
        assert watermarks.get(dagster_home.home_dir, "prometheus:demo", "metric_samples") == day_end

        again = materialize(dagster_home, instance, DAY)
        assert again.success
        assert sorted(lake_rows(dagster_home)) == sorted(stored)
        assert [b["rows_written"] for b in batches(dagster_home)] == [len(expected)] * 2


def test_unreachable_server_fails_the_partition_naming_source_and_range(tmp_path):
    settings = live_home(tmp_path / "down", "http://127.0.0.1:9")
    with dg.instance_for_test() as instance:
        result = materialize(settings, instance, DAY)
        assert not result.success
        (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("prometheus:demo: query 'up' at http://127.0.0.1:9 for [2026-10-01T00:00:00Z")
    assert "gave up after 2 attempt(s)" in message
    assert lake_rows(settings) == []
    assert watermarks.get(settings.home_dir, "prometheus:demo", "metric_samples") is None
