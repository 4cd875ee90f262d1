"""The `opsledger` command line as a user runs it: outputs, formats and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsledger.cli import main
from opsledger.contract import DATA_TABLES, SCHEMAS

OPSLEDGER = Path(sys.executable).parent / "opsledger"


def run(args, settings, **kw):
    env = {"OPSLEDGER_HOME": str(settings.home_dir), "OPSLEDGER_CONFIG": str(settings.config_path)}
    return CliRunner().invoke(main, args, env=env, **kw)


def test_init_writes_a_valid_commented_sample_once(home):
    result = run(["init"], home)
    assert result.exit_code == 0, result.output
    text = home.config_path.read_text()
    assert text.startswith("# opsledger.yaml") and "sources:" in text
    again = run(["init"], home)
    assert again.exit_code == 1
    assert (
        again.output.strip()
        == f"opsledger: error: {home.config_path} already exists (use --force to overwrite)"
    )


def test_sql_before_any_build_is_a_one_line_error(home):
    result = run(["sql", "select 1"], home)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "run `opsledger build`" in result.output


def test_every_contract_table_has_rows_after_the_demo(demo_home):
    # quarantine too: the demo's outage leaves one torn log line
    for table in DATA_TABLES + ("quarantine", "ingest_batches"):
        result = run(["sql", f"select count(*) as n from {table}", "--format", "json"], demo_home)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)[0]["n"] > 0, table


def test_sql_formats_agree_on_the_same_query(demo_home):
    query = (
        "select service, sum(requests) as requests from mart_service_daily group by service order by service"
    )
    as_json = json.loads(run(["sql", query, "--format", "json"], demo_home).output)
    as_csv = list(csv.DictReader(io.StringIO(run(["sql", query, "--format", "csv"], demo_home).output)))
    table = run(["sql", query], demo_home).output.splitlines()
    assert [r["service"] for r in as_json] == [r["service"] for r in as_csv]
    assert [float(r["requests"]) for r in as_csv] == [float(r["requests"]) for r in as_json]
    assert table[0].split() == ["service", "requests"] and table[-1] == f"({len(as_json)} rows)"


def test_sql_is_read_only_and_errors_are_one_line(demo_home):
    write = run(["sql", "create table x as select 1"], demo_home)
    assert write.exit_code == 1 and write.output.startswith("opsledger: error: SQL:")
    assert write.output.count("\n") == 1
    typo = run(["sql", "select nope from log_records"], demo_home)
    assert typo.exit_code == 1 and "nope" in typo.output and "Traceback" not in typo.output


def test_views_expose_the_contract_columns(demo_home):
    for table, schema in SCHEMAS.items():
        result = run(["sql", f"select * from {table} limit 0", "--format", "csv"], demo_home)
        assert result.output.strip().split(",") == schema.names, table


def test_console_script_ingests_and_reports_quarantine(home, tmp_path):
    bad = tmp_path / "events.jsonl"
    bad.write_text(
        '{"timestamp": "2026-10-01T10:00:00Z", "distinct_id": "u1", "event": "view_item", "properties": {}}\n'
        "{not json\n"
    )
    env = {"OPSLEDGER_HOME": str(home.home_dir), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [OPSLEDGER, "ingest", "product_events", str(bad)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "1 file(s), 2 records read, 1 stored, 1 quarantined" in done.stdout
    stored = subprocess.run(
        [OPSLEDGER, "sql", "select event, distinct_id from product_events", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert json.loads(stored.stdout) == [{"event": "view_item", "distinct_id": "u1"}]
    missing = subprocess.run(
        [OPSLEDGER, "ingest", "product_events", str(tmp_path / "nope.jsonl")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"opsledger: error: {tmp_path / 'nope.jsonl'}: no such file or folder"


@pytest.mark.parametrize("table", ["logs", "metrics"])
def test_unknown_table_names_are_refused(home, table, tmp_path):
    result = run(["ingest", table, str(tmp_path)], home)
    assert result.exit_code == 2 and "Invalid value for" in result.output
