"""opsledger.yaml: the sample is valid, and a bad file fails with file, line, field and problem."""

from __future__ import annotations

import pytest

from opsledger.config import load_config
from opsledger.errors import ConfigError
from opsledger.samples import SAMPLE_CONFIG


def test_sample_config_is_valid(tmp_path):
    path = tmp_path / "opsledger.yaml"
    path.write_text(SAMPLE_CONFIG)
    config = load_config(path)
    assert [t.id for t in config.tenants] == ["acme", "globex"]
    assert {s.kind for s in config.sources} == {
        "metric_samples",
        "log_records",
        "audit_events",
        "directory",
        "test_results",
        "product_events",
    }


def test_source_glob_is_relative_to_the_config_file(tmp_path):
    path = tmp_path / "opsledger.yaml"
    path.write_text(SAMPLE_CONFIG)
    config = load_config(path)
    from datetime import date

    logs = config.sources_of("log_records")[0]
    assert config.resolve(logs, date(2026, 10, 2)) == str(tmp_path / "data/logs/2026-10-02/*.jsonl")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources:\n  - name: a\n    kind: logs\n    path: x\n", ":3: sources[0].kind: Input should be"),
        ("tenants:\n  - id: Acme Corp\n", ":2: tenants[0].id: String should match pattern"),
        ("partitions_start: someday\n", ":1: partitions_start: Input should be a valid date"),
        ("colour: blue\n", ":1: colour: Extra inputs are not permitted"),
        (
            "sources:\n  - name: a\n    kind: directory\n    path: x/{day}.ldif\n",
            "sources[0].path: Value error, unknown placeholder {day}",
        ),
        ("sources: [\n", "not valid YAML"),
        ("- just\n- a list\n", ":1: the top level must be a mapping"),
    ],
)
def test_bad_config_fails_with_one_line_naming_file_line_and_field(tmp_path, text, expected):
    path = tmp_path / "opsledger.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_duplicate_source_names_are_rejected(tmp_path):
    path = tmp_path / "opsledger.yaml"
    path.write_text(
        "sources:\n  - {name: a, kind: log_records, path: x}\n  - {name: a, kind: audit_events, path: y}\n"
    )
    with pytest.raises(ConfigError, match="source name 'a' is used more than once"):
        load_config(path)


def test_missing_config_is_the_empty_default(tmp_path):
    config = load_config(tmp_path / "absent.yaml")
    assert config.sources == [] and config.tenants == []
