"""The Elasticsearch collection assets (one per target table), materialized in process against the
seeded search server: a day partition stores what ``opsledger collect elasticsearch`` stores for that
day, and a second run changes no count."""

from __future__ import annotations

import dagster as dg
from click.testing import CliRunner

from opsledger import watermarks
from opsledger.settings import Settings

from .. import dagster_runs
from .test_elasticsearch_live import batches, canonical, lake_rows, target

TABLES = ("audit_events", "product_events")
KEYS = [dg.AssetKey(["collect", "elasticsearch", "demo", table]) for table in TABLES]
DAY = "2026-10-01"


def live_home(root, url: str) -> Settings:
    source = {
        "name": "demo",
        "url": url,
        "retries": 1,
        "backoff_s": 0.01,
        "targets": [target(t) for t in TABLES],
    }
    return dagster_runs.live_home(root, "elasticsearch", source)


def test_day_partitions_equal_cli_collection_and_rerun_changes_nothing(search_server, tmp_path, monkeypatch):
    dagster_home = live_home(tmp_path / "dagster", search_server.url)
    cli_home = live_home(tmp_path / "cli", search_server.url)
    with dg.instance_for_test() as instance:
        result = dagster_runs.materialize(dagster_home, instance, DAY, KEYS)
        assert result.success
        stored = {table: canonical(lake_rows(dagster_home, table)) for table in TABLES}

        monkeypatch.setenv("OPSLEDGER_HOME", str(cli_home.home_dir))
        monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
        from opsledger.cli_collect import collect

        cli = CliRunner().invoke(collect, ["elasticsearch", "--start", DAY, "--end", "2026-10-02"])
        assert cli.exit_code == 0, cli.output
        for table in TABLES:
            assert stored[table] == canonical(lake_rows(cli_home, table))
            # The seeded server holds two days; one partition is about half of it.
            assert 0 < len(stored[table]) < search_server.seeded[table]

        materialized = {
            tuple(e.materialization.asset_key.path)[-1]: {
                k: v.value for k, v in e.materialization.metadata.items()
            }
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        }
        assert {t: m["rows_written"] for t, m in materialized.items()} == {t: len(stored[t]) for t in TABLES}
        assert all(m["partitions"] == DAY and m["url"] == search_server.url for m in materialized.values())
        for table in TABLES:
            mark = watermarks.get(dagster_home.home_dir, "elasticsearch:demo", table)
            assert mark is not None and mark.isoformat() == "2026-10-02T00:00:00+00:00"

        again = dagster_runs.materialize(dagster_home, instance, DAY, KEYS)
        assert again.success
        assert {table: canonical(lake_rows(dagster_home, table)) for table in TABLES} == stored
        assert len(batches(dagster_home)) == 2 * len(TABLES)
