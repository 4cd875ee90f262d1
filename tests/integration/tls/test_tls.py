"""TLS of the live collectors against real servers with a certificate from a throwaway CA: refused
by default with a clear error, collected with the CA file configured, or with verification off."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import yaml
from click.testing import CliRunner

from collectors.ldap_live import LdapSettings
from opsledger import lake, watermarks
from opsledger.cli import main
from opsledger.live_directory import collect_directory

from .conftest import BASE_DN, HISTORY_POINTS, PASSWORD_ENV, READER_DN, READER_PASSWORD, SERIES, USERS

RANGE = ["--start", "2026-10-01T00:00Z", "--end", "2026-10-01T02:00Z"]
PROMETHEUS_USER, PROMETHEUS_PASSWORD = "collector", "prom-Pw-tls-test-8812"


def lake_count(home: Path, table: str) -> int:
    if not lake.has_files(home / "lake", table):
        return 0
    con = duckdb.connect()
    try:
        return con.execute(
            "select count(*) from read_parquet(?)", [lake.table_glob(home / "lake", table)]
        ).fetchall()[0][0]
    finally:
        con.close()


def collect_prometheus(home: Path, url: str, monkeypatch, **tls) -> tuple[int, str]:
    monkeypatch.setenv("OPSLEDGER_TEST_PROM_USER", PROMETHEUS_USER)
    monkeypatch.setenv("OPSLEDGER_TEST_PROM_PASSWORD", PROMETHEUS_PASSWORD)
    # Set as on many machines (this one too): requests would let it override the session's verify.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    settings = home.parent / "prometheus.yaml"
    settings.write_text(
        yaml.safe_dump(
            {
                "name": "tls",
                "url": url,
                "queries": [{"query": '{__name__=~"tls_.+"}', "step": "60s"}],
                "username_env": "OPSLEDGER_TEST_PROM_USER",
                "password_env": "OPSLEDGER_TEST_PROM_PASSWORD",
                "retries": 1,
                "backoff_s": 0.01,
                **tls,
            }
        )
    )
    result = CliRunner().invoke(main, ["collect", "prometheus", "--settings", str(settings), *RANGE])
    return result.exit_code, result.output


def test_prometheus_refuses_an_untrusted_certificate_by_default(tls_prometheus, home_env, monkeypatch):
    code, output = collect_prometheus(home_env, tls_prometheus.url, monkeypatch)
    assert code == 1
    errors = [line for line in output.splitlines() if line.startswith("opsledger: error:")]
    assert len(errors) == 1, output
    assert errors[0].startswith(
        f"opsledger: error: prometheus:tls: query '{{__name__=~\"tls_.+\"}}' at {tls_prometheus.url} "
    )
    # OpenSSL's reason depends on whether the server sends the chain; the prefix is ours.
    assert re.search(
        r": TLS verification failed \(certificate verify failed: [a-z -]+\); set ca_file$", errors[0]
    )
    assert PROMETHEUS_PASSWORD not in output and PROMETHEUS_USER not in output
    assert lake_count(home_env, "metric_samples") == 0
    assert watermarks.get(home_env, "prometheus:tls", "metric_samples") is None


@pytest.mark.parametrize("tls", [{"ca_file": "CA"}, {"verify_tls": False}], ids=["ca_file", "no_verify"])
def test_prometheus_collects_over_tls_when_told_how_to_trust(tls, tls_prometheus, pki, home_env, monkeypatch):
    tls = {k: str(pki.ca_file) if v == "CA" else v for k, v in tls.items()}
    code, output = collect_prometheus(home_env, tls_prometheus.url, monkeypatch, **tls)
    assert code == 0, output
    assert f"{SERIES * HISTORY_POINTS} samples stored, 0 quarantined" in output
    con = duckdb.connect()
    try:
        rows = con.execute(
            "select metric, count(*), min(value), max(value) from read_parquet(?) "
            "group by metric order by metric",
            [lake.table_glob(home_env / "lake", "metric_samples")],
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        ("tls_requests_total", 2 * HISTORY_POINTS, 1.0, float(HISTORY_POINTS)),
        ("tls_up", HISTORY_POINTS, 1.0, float(HISTORY_POINTS)),
    ]


def ldap_args(server, mode: str) -> list[str]:
    url = server.ldaps_url if mode == "ldaps" else server.url
    tls = ["--start-tls"] if mode == "starttls" else []
    return ["collect", "ldap", "--url", url, *tls, "--base-dn", BASE_DN, "--name", "tls"] + [
        "--bind-dn",
        READER_DN,
        "--password-env",
        PASSWORD_ENV,
    ]


@pytest.mark.parametrize("mode", ["ldaps", "starttls"])
def test_ldap_refuses_an_untrusted_certificate_by_default(mode, tls_slapd, home_env):
    result = CliRunner().invoke(main, ldap_args(tls_slapd, mode))
    assert result.exit_code == 1
    url = tls_slapd.ldaps_url if mode == "ldaps" else tls_slapd.url
    errors = [line for line in result.output.splitlines() if line.startswith("opsledger: error:")]
    assert len(errors) == 1, result.output
    assert re.fullmatch(
        f"opsledger: error: ldap:tls: connect and bind at {re.escape(url)} failed: TLS verification failed "
        r"\(certificate verify failed: [a-z -]+\); set ca_file \(or tls_verify false, for testing only\)",
        errors[0],
    ), errors[0]
    assert READER_PASSWORD not in result.output
    assert lake_count(home_env, "directory_users") == 0
    assert watermarks.get(home_env, "ldap:tls", "directory") is None


@pytest.mark.parametrize("mode", ["ldaps", "starttls"])
def test_ldap_collects_with_the_ca_file(mode, tls_slapd, pki, home_env):
    result = CliRunner().invoke(main, [*ldap_args(tls_slapd, mode), "--ca-file", str(pki.ca_file)])
    assert result.exit_code == 0, result.output
    assert f"ldap:tls: {len(USERS)} users, 1 groups, {len(USERS)} memberships" in result.output
    assert lake_count(home_env, "directory_users") == len(USERS)


def test_ldap_python_api_takes_the_ca_file(tls_slapd, pki, home_env):
    settings = LdapSettings(
        name="tls",
        url=tls_slapd.ldaps_url,
        base_dn=BASE_DN,
        bind_dn=READER_DN,
        password_env=PASSWORD_ENV,
        ca_file=str(pki.ca_file),
    )
    result = collect_directory(home_env, settings)
    assert result.rows_per_table == {
        "directory_users": len(USERS),
        "directory_groups": 1,
        "directory_memberships": len(USERS),
    }


@pytest.mark.parametrize("mode", ["ldaps", "starttls"])
def test_ldap_collects_with_no_tls_verify(mode, tls_slapd, home_env):
    result = CliRunner().invoke(main, [*ldap_args(tls_slapd, mode), "--no-tls-verify"])
    assert result.exit_code == 0, result.output
    assert f"ldap:tls: {len(USERS)} users, 1 groups, {len(USERS)} memberships" in result.output
    assert lake_count(home_env, "directory_memberships") == len(USERS)
