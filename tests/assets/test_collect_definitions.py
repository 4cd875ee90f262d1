"""With a ``live:`` section the one Definitions gains collection assets, their job and hourly schedule,
the test-report sensor and a resource per server whose secrets are environment variable names."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from opsledger import watermarks
from opsledger.settings import Settings
from pipelines.definitions import build_definitions

CONFIG = """\
partitions_start: 2026-10-01
live:
  prometheus:
    - name: prod-eu
      url: http://127.0.0.1:9090
      username_env: PROM_USER
      password_env: PROM_PASSWORD
      queries: [{query: up, step: 5m}]
  elasticsearch:
    - name: logs
      url: http://127.0.0.1:9200
      api_key_env: ES_API_KEY
      targets:
        - {table: log_records, index: 'logs-*', tiebreak_field: event.id}
        - {table: audit_events, index: 'audit-*', tiebreak_field: event.id}
  ldap:
    - name: corp
      url: ldap://127.0.0.1:389
      base_dn: dc=example,dc=org
      bind_dn: cn=reader,dc=example,dc=org
      password_env: LDAP_PASSWORD
  test_report_drop:
    path: drop
"""
SECRETS = {
    "PROM_USER": "prom-user-5521",
    "PROM_PASSWORD": "prom-Pw-7f3e91",
    "ES_API_KEY": "es-key-a81c07",
    "LDAP_PASSWORD": "ldap-Pw-44d2b0",
}
COLLECT_KEYS = {
    ("collect", "prometheus", "prod_eu"),
    ("collect", "elasticsearch", "logs", "log_records"),
    ("collect", "elasticsearch", "logs", "audit_events"),
    ("collect", "ldap", "corp"),
}


@pytest.fixture
def live_home(tmp_path, monkeypatch) -> Settings:
    settings = Settings(home=tmp_path / "home")
    settings.home_dir.mkdir(parents=True)
    settings.config_path.write_text(CONFIG, encoding="utf-8")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return settings


def test_live_config_adds_assets_job_schedule_sensor_and_resources(live_home):
    defs = build_definitions(live_home)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    collect = {tuple(k.path) for k in graph.get_all_asset_keys() if k.path[0] == "collect"}
    assert collect == COLLECT_KEYS
    for key in COLLECT_KEYS:
        node = graph.get(dg.AssetKey(key))
        assert node.partitions_def.get_first_partition_key() == "2026-10-01"
        assert node.backfill_policy == dg.BackfillPolicy.multi_run(max_partitions_per_run=7)
    schedule = defs.resolve_schedule_def("hourly_collect_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == (
        "5 * * * *",
        "UTC",
        "collect_job",
    )
    assert defs.resolve_sensor_def("test_report_drop_sensor").job_name == "test_report_ingest_job"
    assert {"collect_job", "test_report_ingest_job", "ingest_job", "marts_job"} <= {
        job.name for job in defs.resolve_all_job_defs()
    }
    resources = defs.resources
    assert {"prometheus_prod_eu", "elasticsearch_logs", "ldap_corp"} <= set(resources)
    # Secret fields hold the variable's name (an EnvVar), resolved only when a run starts.
    assert isinstance(resources["ldap_corp"].password, dg.EnvVar)
    assert resources["ldap_corp"].password == "LDAP_PASSWORD"
    assert resources["prometheus_prod_eu"].password == "PROM_PASSWORD"
    assert resources["elasticsearch_logs"].api_key == "ES_API_KEY"
    assert resources["ldap_corp"].settings().bind_dn == "cn=reader,dc=example,dc=org"
    assert sorted(p.name for p in live_home.home_dir.iterdir()) == ["opsledger.yaml"]  # nothing written


def test_what_the_dagster_ui_is_sent_names_variables_never_their_values(live_home):
    defs = build_definitions(live_home)
    snapshot = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    for value in SECRETS.values():
        assert value not in snapshot
    assert "LDAP_PASSWORD" in snapshot and "ES_API_KEY" in snapshot


def test_hourly_schedule_collects_today_and_catches_up_from_each_watermark(live_home):
    home = live_home.home_dir
    # Prometheus last completed 2026-11-19 (watermark at the end of that day): it missed two days.
    watermarks.advance(home, "prometheus:prod-eu", "metric_samples", datetime(2026, 11, 20, tzinfo=UTC))
    # Audit events are current up to this morning; log_records were never collected.
    watermarks.advance(home, "elasticsearch:logs", "audit_events", datetime(2026, 11, 22, 9, 5, tzinfo=UTC))
    defs = build_definitions(live_home)
    schedule = defs.resolve_schedule_def("hourly_collect_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 22, 14, 5, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    requests = schedule.evaluate_tick(context).run_requests
    by_range = {
        (
            r.partition_key or r.tags["dagster/asset_partition_range_start"],
            r.partition_key or r.tags["dagster/asset_partition_range_end"],
        ): {tuple(k.path) for k in r.asset_selection}
        for r in requests
    }
    assert by_range == {
        ("2026-11-20", "2026-11-22"): {("collect", "prometheus", "prod_eu")},
        ("2026-11-22", "2026-11-22"): COLLECT_KEYS - {("collect", "prometheus", "prod_eu")},
    }
    assert len({r.run_key for r in requests}) == 2
    again = schedule.evaluate_tick(context).run_requests
    assert [r.run_key for r in again] == [r.run_key for r in requests]  # a re-evaluated tick dedups


def test_without_live_section_nothing_is_added(tmp_path):
    settings = Settings(home=tmp_path / "home")
    defs = build_definitions(settings)
    assert not [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == "collect"]
    assert not list(defs.sensors or [])
    assert {s.name for s in defs.schedules} == {"daily_ingest_schedule", "daily_marts_schedule"}
