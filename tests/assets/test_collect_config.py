"""The ``live:`` section of opsledger.yaml: one-line errors naming file, line and field; secrets only
as environment variable names; the commented sample in ``opsledger init``'s config is valid."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from opsledger.config import load_config
from opsledger.errors import ConfigError
from opsledger.samples import SAMPLE_CONFIG

VALID = """\
partitions_start: 2026-10-01
live:
  prometheus:
    - name: prod
      url: http://127.0.0.1:9090
      bearer_token_env: PROM_TOKEN
      queries:
        - {query: up, step: 5m}
  ldap:
    - name: corp
      url: ldap://127.0.0.1:389
      base_dn: dc=example,dc=org
      bind_dn: cn=reader,dc=example,dc=org
      password_env: LDAP_PASSWORD
  test_report_drop:
    path: drop
"""


def load(tmp_path, text: str):
    path = tmp_path / "opsledger.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path, load_config(path)


def error_of(tmp_path, text: str) -> tuple[str, str]:
    path = tmp_path / "opsledger.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(path), str(caught.value)


def test_valid_section_gives_the_collectors_settings(tmp_path):
    path, config = load(tmp_path, VALID)
    live = config.live_sources
    (prom,) = live.prometheus
    assert (prom.source, prom.url, prom.bearer_token_env, prom.queries[0].step_ms) == (
        "prometheus:prod",
        "http://127.0.0.1:9090",
        "PROM_TOKEN",
        300_000,
    )
    (corp,) = live.ldap
    assert (corp.source, corp.password_env, corp.tls_verify) == ("ldap:corp", "LDAP_PASSWORD", True)
    assert live.test_report_drop.path == "drop" and live.test_report_drop.min_age_s == 10
    assert live.pick("ldap", "corp") == [corp]
    with pytest.raises(ConfigError, match=r"live.ldap: no source named 'hr' \(configured: corp\)"):
        live.pick("ldap", "hr")


@pytest.mark.parametrize(
    ("change", "line", "field", "problem"),
    [
        (("step: 5m", "step: 5 minutes"), 8, "live.prometheus[0].queries[0].step", "not a duration"),
        (
            ("url: http://127.0.0.1:9090", "url: http://admin:pw@127.0.0.1:9090"),
            5,
            "live.prometheus[0].url",
            "credentials do not belong in the URL",
        ),
        (("url: ldap://127.0.0.1:389", "url: http://127.0.0.1:389"), 11, "live.ldap[0].url", "ldap://host"),
        (("      password_env: LDAP_PASSWORD\n", ""), 10, "live.ldap[0]", "bind_dn needs password_env"),
        (("  test_report_drop:", "  test_reports_drop:"), 16, "live.test_reports_drop", "Extra inputs"),
        (
            ("    path: drop", "    path: drop\n    interval_s: 1"),
            17,
            "live.test_report_drop.interval_s",
            "greater than or equal to 5",
        ),
    ],
)
def test_errors_are_one_line_with_file_line_and_field(tmp_path, change, line, field, problem):
    path, message = error_of(tmp_path, VALID.replace(*change))
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: {field}: ")
    assert problem in message


def test_a_secret_value_is_refused_without_being_echoed(tmp_path):
    text = VALID.replace("password_env: LDAP_PASSWORD", "password: hunter2-Secret")
    path, message = error_of(tmp_path, text)
    assert message.startswith(f"{path}:14: live.ldap[0].password: Extra inputs are not permitted")
    assert "hunter2-Secret" not in message


def test_names_that_collide_as_dagster_identifiers_are_refused(tmp_path):
    text = VALID.replace(
        "  ldap:\n", "  ldap:\n    - {name: c-orp, url: 'ldap://h', base_dn: 'dc=x'}\n"
    ).replace("name: corp", "name: c.orp")
    path, message = error_of(tmp_path, text)
    assert message.startswith(f"{path}:10: live.ldap: ")
    assert "'c-orp' and 'c.orp'" in message


def test_a_config_without_live_section_has_no_live_sources(tmp_path):
    _, config = load(tmp_path, "partitions_start: 2026-10-01\n")
    assert config.live == {} and not config.live_sources.any


def test_the_init_sample_has_a_valid_commented_live_example(tmp_path):
    assert yaml.safe_load(SAMPLE_CONFIG).get("live") is None  # commented out by default
    lines = SAMPLE_CONFIG.splitlines()
    start = lines.index("#live:")
    uncommented = "\n".join(line[1:] for line in lines[start:] if line.startswith("#"))
    _, config = load(tmp_path, SAMPLE_CONFIG + uncommented + "\n")
    live = config.live_sources
    assert [p.name for p in live.prometheus] == ["prod"]
    assert [t.table for t in live.elasticsearch[0].targets] == ["log_records", "audit_events"]
    assert live.ldap[0].password_env == "LDAP_BIND_PASSWORD"
    assert live.test_report_drop.path == "data/test-drop"
