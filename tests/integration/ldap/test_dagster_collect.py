"""The LDAP collection asset, materialized in process against the real slapd: today's partition holds
the same users, groups and memberships as ``opsledger collect ldap``, a second run changes no count,
and a wrong password fails the run clearly with no credential anywhere in the Dagster event log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import dagster as dg
import pytest
from click.testing import CliRunner
from dagster._serdes import serialize_value

from opsledger import watermarks
from opsledger.demo.model import BASE_DN
from opsledger.settings import Settings

from .. import dagster_runs
from .conftest import PASSWORD_ENV, READER_DN, READER_PASSWORD, ROOT_PASSWORD
from .test_ldap_live import TABLES, _batches, _counts, _rows

KEY = dg.AssetKey(["collect", "ldap", "corp"])
COLUMNS = {
    "directory_users": "dn, uid, email, display_name, enabled, source",
    "directory_groups": "dn, name, source",
    "directory_memberships": "group_dn, member_dn, source",
}


def live_home(root, url: str) -> Settings:
    source = {
        "name": "corp",
        "url": url,
        "base_dn": BASE_DN,
        "bind_dn": READER_DN,
        "password_env": PASSWORD_ENV,
        "page_size": 7,
        "retries": 1,
        "backoff_seconds": 0.01,
    }
    return dagster_runs.live_home(root, "ldap", source)


def materialize(
    settings: Settings, instance: dg.DagsterInstance, partition: str
) -> dg.ExecuteInProcessResult:
    return dagster_runs.materialize(settings, instance, partition, [KEY])


def failure_of(result) -> str:
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    return failure.step_failure_data.user_failure_data.description


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_today_equals_cli_snapshot_and_rerun_changes_no_count(slapd, tmp_path, monkeypatch):
    dagster_home = live_home(tmp_path / "dagster", slapd.url)
    cli_home = live_home(tmp_path / "cli", slapd.url)
    with dg.instance_for_test() as instance:
        result = materialize(dagster_home, instance, today())
        assert result.success
        lake_dir = dagster_home.lake_dir

        monkeypatch.setenv("OPSLEDGER_HOME", str(cli_home.home_dir))
        monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
        from opsledger.cli_collect import collect

        cli = CliRunner().invoke(collect, ["ldap"])
        assert cli.exit_code == 0, cli.output
        for table, columns in COLUMNS.items():
            assert _rows(lake_dir, table, columns) == _rows(cli_home.lake_dir, table, columns)
        counts = _counts(lake_dir)
        assert counts["directory_users"] > 40 and counts["directory_groups"] > 4
        assert f"{counts['directory_users']} users, {counts['directory_groups']} groups" in cli.output

        (event,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
        meta = {k: v.value for k, v in event.materialization.metadata.items()}
        assert meta["rows_per_table"] == counts and meta["rows_quarantined"] == 0
        assert meta["url"] == slapd.url  # no bind DN, no password
        assert watermarks.get(dagster_home.home_dir, "ldap:corp", "directory") is not None

        again = materialize(dagster_home, instance, today())
        assert again.success
        assert _counts(lake_dir) == counts
        assert [b[0] for b in _batches(lake_dir)] == ["succeeded", "succeeded"]


def test_wrong_password_fails_clearly_and_no_credential_reaches_the_event_log(
    slapd, tmp_path, monkeypatch, caplog
):
    wrong = "Wrong-pw-Dg71-never-logged"
    monkeypatch.setenv(PASSWORD_ENV, wrong)
    caplog.set_level(logging.DEBUG)
    settings = live_home(tmp_path / "home", slapd.url)
    with dg.instance_for_test() as instance:
        result = materialize(settings, instance, today())
        assert not result.success
        message = failure_of(result)
        assert "ldap:corp" in message and "invalid credentials" in message and PASSWORD_ENV in message
        logged = [serialize_value(entry) for entry in instance.all_logs(result.run_id)]
        run = instance.get_run_by_id(result.run_id)
        texts = [*logged, serialize_value(run), caplog.text]
        assert len(logged) > 5
        for text in texts:
            for secret in (wrong, READER_PASSWORD, ROOT_PASSWORD):
                assert secret not in text
    assert _counts(settings.lake_dir) == dict.fromkeys(TABLES, 0)
    assert watermarks.get(settings.home_dir, "ldap:corp", "directory") is None


def test_unset_password_variable_fails_naming_the_variable(slapd, tmp_path, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV)
    settings = live_home(tmp_path / "home", slapd.url)
    # Dagster resolves the EnvVar before the run starts: a config error naming the variable.
    unset = f'variable "{PASSWORD_ENV}" which is not set'
    with dg.instance_for_test() as instance, pytest.raises(dg.DagsterInvalidConfigError, match=unset):
        materialize(settings, instance, today())
    assert _counts(settings.lake_dir) == dict.fromkeys(TABLES, 0)


def test_a_past_day_cannot_be_snapshotted(slapd, tmp_path):
    settings = live_home(tmp_path / "home", slapd.url)
    with dg.instance_for_test() as instance:
        result = materialize(settings, instance, "2026-10-01")
        assert not result.success
        message = failure_of(result)
    assert message.startswith("ldap:corp: a snapshot shows the directory as it is now")
    assert "not 2026-10-01" in message
    assert _counts(settings.lake_dir) == dict.fromkeys(TABLES, 0)
