"""The one Definitions loads cleanly, and the main job materializes the demo through Dagster.

The small demo (``demo_config`` in tests/conftest.py) is ingested by the real Dagster jobs in process; the
outcomes are then read back from the lake and the warehouse, independently of the assets' own
metadata: rows per table, per-source accounting, one mart row per service and day, every check
passing, and a second run over the same days changing no count.
"""

from __future__ import annotations

import glob
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.ingest.checks import accounting, future_rows
from opsledger import lake
from opsledger.config import load_config
from opsledger.contract import DATA_TABLES, INGEST_KINDS, table_from_pydict
from opsledger.errors import OpsledgerError
from opsledger.ingest import ingest_file
from opsledger.settings import Settings
from pipelines.definitions import build_definitions
from pipelines.run import MainJobSummary, persistent_instance, run_main_job

DATA = Path(__file__).resolve().parent.parent / "data"

RAW_KEYS = {
    ("raw", "metrics", "metric_samples"),
    ("raw", "logs", "log_records"),
    ("raw", "audit", "audit_events"),
    ("raw", "directory", "directory_users"),
    ("raw", "directory", "directory_groups"),
    ("raw", "directory", "directory_memberships"),
    ("raw", "tests", "test_results"),
    ("raw", "events", "product_events"),
}
OTHER_KEYS = {
    ("warehouse", "views"),
    ("mart", "metrics", "service_daily"),
    ("mart", "metrics", "service_hourly"),
    ("mart", "funnels", "funnel_steps"),
    ("mart", "funnels", "funnel_trends"),
    ("mart", "funnels", "funnel_time_to_convert"),
    ("mart", "funnels", "funnel_why"),
    ("mart", "funnels", "funnel_breakdowns"),
    ("mart", "funnels", "funnel_people"),
    *(
        ("mart", "slo", name)
        for name in (
            "slo_status",
            "slo_history",
            "slo_burn_rates",
            "slo_alerts",
            "slo_policy_events",
            "sla_months",
        )
    ),
}


def test_definitions_load_without_touching_any_state(tmp_path):
    settings = Settings(home=tmp_path / "home")
    defs = build_definitions(settings)
    dg.Definitions.validate_loadable(defs)

    graph = defs.resolve_asset_graph()
    assert {tuple(key.path) for key in graph.get_all_asset_keys()} == RAW_KEYS | OTHER_KEYS
    checks = {(tuple(key.asset_key.path), key.name) for key in graph.asset_check_keys}
    assert checks == {
        *((key, name) for key in RAW_KEYS for name in ("ingest_accounting_balances", "no_future_timestamps")),
        *(
            (("mart", "metrics", grain), name)
            for grain in ("service_daily", "service_hourly")
            for name in ("error_ratio_between_0_and_1", "latency_quantiles_ordered")
        ),
        (("mart", "funnels", "funnel_steps"), "funnel_counts_never_increase"),
        (("mart", "slo", "slo_status"), "error_budget_consumed_matches_sli"),
        (("mart", "slo", "slo_alerts"), "alert_intervals_disjoint"),
        (("mart", "slo", "sla_months"), "sla_uptime_matches_minutes"),
        (("mart", "slo", "slo_policy_events"), "policy_events_meet_their_thresholds"),
    }
    for key in RAW_KEYS:
        node = graph.get(dg.AssetKey(key))
        assert node.partitions_def.get_first_partition_key() == "2026-01-01"  # the default partitions_start
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    # Every step that opens the warehouse is in the one DuckDB pool.
    pools = {
        tuple(key.path): assets_def.node_def.pool
        for assets_def in defs.assets
        if isinstance(assets_def, dg.AssetsDefinition)
        for key in assets_def.keys
    }
    assert {key for key, pool in pools.items() if pool == "duckdb"} == OTHER_KEYS
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"ingest_job", "marts_job"}
    assert not (tmp_path / "home").exists(), "loading the definitions must not create the lake or warehouse"


def test_daily_ingest_schedule_asks_for_yesterday_and_marts_follow(tmp_path):
    defs = build_definitions(Settings(home=tmp_path / "home"))
    ingest = defs.resolve_schedule_def("daily_ingest_schedule")
    marts = defs.resolve_schedule_def("daily_marts_schedule")
    assert (ingest.cron_schedule, ingest.execution_timezone, ingest.job_name) == (
        "30 0 * * *",
        "UTC",
        "ingest_job",
    )
    assert (marts.cron_schedule, marts.execution_timezone, marts.job_name) == (
        "0 1 * * *",
        "UTC",
        "marts_job",
    )

    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 10, 3, 0, 30, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    requests = ingest.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-10-02"]


def test_days_outside_the_partitions_are_refused_before_any_run(tmp_path):
    settings = Settings(home=tmp_path / "home")
    tomorrow = datetime.now(UTC).date() + timedelta(days=2)
    with pytest.raises(OpsledgerError, match="outside the daily partitions"):
        run_main_job(settings, start=date(2026, 1, 1), end=tomorrow, instance=dg.DagsterInstance.ephemeral())
    with pytest.raises(OpsledgerError, match="outside the daily partitions"):
        run_main_job(
            settings, start=date(2025, 12, 31), end=date(2026, 1, 2), instance=dg.DagsterInstance.ephemeral()
        )


def _junit_home(tmp_path: Path, bad_day: str | None = None) -> Settings:
    """A home whose one source is a JUnit report per day (2026-10-01, 2026-10-02); ``bad_day``'s
    report is not a report at all."""
    home = tmp_path / "home"
    for day in ("2026-10-01", "2026-10-02"):
        folder = home / "reports" / day
        folder.mkdir(parents=True)
        if day == bad_day:
            (folder / "junit.xml").write_text("hello, this is not a test report\n", encoding="utf-8")
        else:
            shutil.copy(DATA / "test-results" / "junit" / "junitparser" / "normal.xml", folder / "junit.xml")
    (home / "opsledger.yaml").write_text(
        "partitions_start: 2026-09-01\nsources:\n  - name: ci\n    kind: test_results\n"
        "    path: reports/{date}/*.xml\n",
        encoding="utf-8",
    )
    return Settings(home=home)


def test_an_unreadable_file_fails_the_run_naming_asset_and_file_but_keeps_the_good_days(tmp_path):
    settings = _junit_home(tmp_path, bad_day="2026-10-02")

    with pytest.raises(OpsledgerError) as failure:
        run_main_job(
            settings, start=date(2026, 10, 1), end=date(2026, 10, 2), instance=dg.DagsterInstance.ephemeral()
        )
    message = str(failure.value)
    assert "ingest_job failed" in message
    assert "raw/tests/test_results" in message
    assert "2026-10-02/junit.xml" in message
    assert "\n" not in message
    # The good day was still ingested; the bad file left nothing behind but its failed batch.
    batches = _query(settings, "select source, status, rows_written from read_parquet($g)", "ingest_batches")
    assert sorted(row[:2] for row in batches) == [
        ("ci:reports/2026-10-01/junit.xml", "succeeded"),
        ("ci:reports/2026-10-02/junit.xml", "failed"),
    ]
    written = next(row[2] for row in batches if row[1] == "succeeded")
    assert written > 0
    assert _lake_counts(settings)["test_results"] == written


@pytest.mark.timeout(120)
def test_a_slot_left_claimed_by_a_dead_run_does_not_block_the_next_run(tmp_path):
    settings = _junit_home(tmp_path)
    first = run_main_job(settings, start=date(2026, 10, 1), end=date(2026, 10, 2))
    with persistent_instance(settings) as instance:
        # As if a run had been killed while its marts step held the one slot of the pool.
        claim = instance.event_log_storage.claim_concurrency_slot(
            "duckdb", "run-killed", "service_traffic_marts"
        )
        assert claim.is_claimed
    second = run_main_job(settings, start=date(2026, 10, 1), end=date(2026, 10, 2))
    assert second.rows_per_table == first.rows_per_table
    assert second.rows_per_table["test_results"] > 0
    with persistent_instance(settings) as instance:
        info = instance.event_log_storage.get_concurrency_info("duckdb")
        assert (info.slot_count, info.claimed_slots, info.pending_steps) == (1, [], [])


@dataclass(frozen=True)
class Runs:
    settings: Settings
    days: list[date]
    files: int  # files the demo config's globs match over those days
    first: MainJobSummary
    second: MainJobSummary
    after_first: tuple
    after_second: tuple


@pytest.fixture(scope="module")
def runs(demo_config, tmp_path_factory) -> Runs:
    """The demo's days through the main job twice: an ephemeral instance, then the persistent one."""
    settings = Settings(home=tmp_path_factory.mktemp("dagster") / "home", config=demo_config.config_path)
    config = load_config(settings.config_path)
    days = sorted(
        date.fromisoformat(Path(p).stem)
        for p in glob.glob(str(settings.config_path.parent / "demo/metrics/*.om"))
    )
    files = sum(len(glob.glob(config.resolve(source, day))) for source in config.sources for day in days)
    first = run_main_job(settings, start=days[0], end=days[-1], instance=dg.DagsterInstance.ephemeral())
    after_first = _lake_counts(settings), _mart_counts(settings)
    second = run_main_job(settings, start=days[0], end=days[-1])
    after_second = _lake_counts(settings), _mart_counts(settings)
    return Runs(settings, days, files, first, second, after_first, after_second)


def test_every_table_has_rows_and_they_match_the_batches(runs):
    settings, first, (lake_counts, _) = runs.settings, runs.first, runs.after_first
    for table in DATA_TABLES:
        assert lake_counts[table] > 0, table
        assert first.rows_per_table[table] == lake_counts[table], table
    assert first.rows_quarantined == lake_counts["quarantine"]
    assert len(runs.days) >= 2
    assert first.files == runs.files

    unbalanced = _query(
        settings,
        "select count(*) from read_parquet($g) where rows_read <> rows_written + rows_quarantined",
        "ingest_batches",
    )
    assert unbalanced == [(0,)]
    for kind, tables in INGEST_KINDS.items():
        if len(tables) > 1:
            continue
        written = dict(
            _query(
                settings,
                "select source, arg_max(rows_written, batch_id) from read_parquet($g) "
                "where target_table = $kind and status = 'succeeded' group by source",
                "ingest_batches",
                kind=kind,
            )
        )
        stored = dict(
            _query(settings, "select source, count(*) from read_parquet($g) group by source", tables[0])
        )
        assert stored == written, kind


def test_the_mart_has_one_row_per_service_and_day(runs):
    settings, first = runs.settings, runs.first
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        services = {
            row[0]
            for row in con.execute(
                "select distinct labels['service'] from metric_samples where metric = 'http_requests_total'"
            ).fetchall()
        }
        rows = con.execute("select service, bucket, requests, errors from mart_service_daily").fetchall()
        hourly = con.execute("select count(*), count(distinct service) from mart_service_hourly").fetchall()[
            0
        ]
    finally:
        con.close()
    assert len(services) >= 2
    assert sorted((s, b.date()) for s, b, _, _ in rows) == sorted((s, d) for s in services for d in runs.days)
    assert all(0 <= errors <= requests for _, _, requests, errors in rows)
    assert sum(requests for _, _, requests, _ in rows) > 0
    assert first.mart_rows["mart_service_daily"] == len(rows)
    assert hourly[1] == len(services)
    assert len(services) * (len(runs.days) - 1) * 24 < hourly[0] <= len(services) * len(runs.days) * 24


def test_every_check_ran_and_passed(runs):
    expected = (
        2 * len(RAW_KEYS) + 4 + 1 + 4
    )  # ingest checks, traffic mart checks, the funnel check, SLO checks
    for summary in (runs.first, runs.second):
        assert len(summary.checks) == expected
        assert summary.failed_checks == []


def test_a_second_run_over_the_same_days_changes_no_count(runs):
    settings, first, second = runs.settings, runs.first, runs.second
    assert runs.after_second == runs.after_first
    assert second.rows_per_table == first.rows_per_table
    assert second.mart_rows == first.mart_rows
    # ingest_batches keeps every run: the second run added exactly one batch per file.
    batches = _query(settings, "select count(*) from read_parquet($g)", "ingest_batches")[0][0]
    assert batches == first.files + second.files


def test_the_persistent_instance_shows_every_asset_and_one_duckdb_slot(runs):
    settings, second = runs.settings, runs.second
    assert (settings.dagster_home / "dagster.yaml").is_file()
    with persistent_instance(settings) as instance:
        for key in RAW_KEYS | OTHER_KEYS:
            event = instance.get_latest_materialization_event(dg.AssetKey(list(key)))
            assert event is not None and event.run_id in second.run_ids, key
        ranged = instance.get_run_by_id(second.run_ids[0])
        assert ranged.tags["dagster/asset_partition_range_start"] == runs.days[0].isoformat()
        assert ranged.tags["dagster/asset_partition_range_end"] == runs.days[-1].isoformat()
        assert instance.event_log_storage.get_concurrency_info("duckdb").slot_count == 1


def _query(settings: Settings, sql: str, table: str, **params) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(sql, {"g": lake.table_glob(settings.lake_dir, table), **params}).fetchall()
    finally:
        con.close()


def _lake_counts(settings: Settings) -> dict[str, int]:
    return {
        table: _query(settings, "select count(*) from read_parquet($g)", table)[0][0]
        if lake.has_files(settings.lake_dir, table)
        else 0
        for table in (*DATA_TABLES, "quarantine")
    }


def _mart_counts(settings: Settings) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return {
            table: con.execute(f"select * from {table} order by all").fetchall()
            for table in ("mart_service_daily", "mart_service_hourly")
        }
    finally:
        con.close()


def test_the_ingest_checks_catch_a_lost_file_and_a_future_timestamp(tmp_path):
    lake_dir = tmp_path / "lake"
    report = DATA / "test-results" / "junit" / "junitparser" / "normal.xml"
    for name in ("a.xml", "b.xml"):
        shutil.copy(report, tmp_path / name)
        ingest_file(lake_dir, "test_results", tmp_path / name, source=f"ci:{name}")
    con = duckdb.connect()
    try:
        assert accounting(con, lake_dir, "test_results")["mismatches"] == []
        assert future_rows(con, lake_dir, "test_results", datetime.now(UTC)) == (0, None)

        lost = next(
            (lake_dir / "test_results").glob(
                f"date=*/part-{lake.source_key('test_results', 'ci:b.xml')}.parquet"
            )
        )
        lost.unlink()
        mismatches = accounting(con, lake_dir, "test_results")["mismatches"]
        assert len(mismatches) == 1 and "ci:b.xml" in mismatches[0] and "lake has 0" in mismatches[0]

        ahead = datetime.now(UTC) + timedelta(days=1)
        rows = table_from_pydict(
            "test_results", {"run_id": ["r"], "run_started_at": [ahead], "source": ["ci:c"]}
        )
        lake.write_atomic(
            lake.partition_dir(lake_dir, "test_results", ahead.date()) / "part-future.parquet", rows
        )
        count, latest = future_rows(con, lake_dir, "test_results", datetime.now(UTC))
        assert count == 1 and latest == ahead
    finally:
        con.close()
