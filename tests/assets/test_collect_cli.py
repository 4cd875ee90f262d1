"""How ``opsledger collect`` chooses its sources when no server answers is needed: a clear one-line
error for a name that is not configured, for --settings with --name, and for nothing configured."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from opsledger.cli import main

CONFIG = """\
live:
  prometheus:
    - {name: demo, url: 'http://127.0.0.1:9', queries: [{query: up}]}
"""


def error_line(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def configured(home):
    home.home_dir.mkdir(parents=True)
    home.config_path.write_text(CONFIG)
    return home


def test_unknown_name_lists_the_configured_ones(configured):
    line = error_line(["collect", "prometheus", "--name", "prod", "--start", "2026-10-01"])
    assert line == "opsledger: error: live.prometheus: no source named 'prod' (configured: demo)"


def test_settings_file_and_name_together_are_refused(configured, tmp_path):
    path = tmp_path / "prometheus.yaml"
    path.write_text("name: x\nurl: http://127.0.0.1:9\nqueries: [{query: up}]\n")
    line = error_line(["collect", "prometheus", "--settings", str(path), "--name", "demo"])
    assert "give --settings FILE or --name" in line


def test_nothing_configured_says_where_to_configure(home):
    line = error_line(["collect", "elasticsearch", "--start", "2026-10-01"])
    assert line == (
        f"opsledger: error: no elasticsearch source configured: add live.elasticsearch to "
        f"{home.config_path}, or give --settings FILE"
    )
    line = error_line(["collect", "ldap"])
    assert "add live.ldap to" in line and "--url" in line


def test_ldap_options_without_url_are_refused(configured):
    line = error_line(["collect", "ldap", "--base-dn", "dc=example,dc=org"])
    assert (
        line
        == "opsledger: error: collect ldap: --base-dn needs --url (or configure live.ldap in opsledger.yaml)"
    )


def test_an_invalid_live_section_stops_collect_with_its_line(configured):
    configured.config_path.write_text(CONFIG.replace("url: 'http://127.0.0.1:9'", "url: 'ftp://x'"))
    line = error_line(["collect", "prometheus"])
    assert line.startswith(f"opsledger: error: {configured.config_path}:3: live.prometheus[0].url: ")


def test_a_bad_settings_file_names_its_line_and_field_and_keeps_secrets_out(configured, tmp_path):
    path = tmp_path / "prometheus.yaml"
    path.write_text("name: x\nurl: http://127.0.0.1:9\npassword: s3cret-value\nqueries: [{query: up}]\n")
    line = error_line(["collect", "prometheus", "--settings", str(path)])
    assert line == f"opsledger: error: {path}:3: password: Extra inputs are not permitted"
