"""``deploy/live-stack.sh``: the demo served by real local servers, collected, built and counted."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "live-stack.sh"
TABLES = (
    "metric_samples",
    "log_records",
    "audit_events",
    "product_events",
    "directory_users",
    "directory_groups",
    "directory_memberships",
)
READER_PASSWORD = "reader-Pw-live-stack-5521"
# A sample line of the OpenMetrics text: the series is everything before the value.
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) ")

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("prometheus", "promtool", "ldapadd")),
    reason="needs the Debian packages prometheus, slapd and ldap-utils",
)


def run_script(home: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLEDGER_")}
    env["OPSLEDGER_LIVE_LDAP_PASSWORD"] = READER_PASSWORD
    return subprocess.run(
        [str(SCRIPT), "--days", "2", "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture(scope="module")
def stack_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("live-stack") / "home"
    return home, run_script(home, tmp_path_factory.mktemp("cwd"))


def printed_counts(stdout: str) -> dict[str, int]:
    lines = stdout.split("rows per table:\n", 1)[1].splitlines()
    return {name: int(rows) for name, rows in (line.split() for line in lines if line.startswith("  "))}


def test_the_printed_counts_are_the_warehouse_counts(stack_run):
    home, run = stack_run
    assert run.returncode == 0, run.stderr[-3000:]
    printed = printed_counts(run.stdout)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        stored = {table: con.sql(f"select count(*) from {table}").fetchall()[0][0] for table in TABLES}
        quarantined = con.sql("select count(*) from quarantine").fetchall()[0][0]
    finally:
        con.close()
    assert {table: printed[table] for table in TABLES} == stored
    assert printed["quarantine"] == quarantined
    for table in ("metric_samples", "directory_users", "log_records"):
        assert stored[table] > 0, table


def test_the_warehouse_holds_what_the_servers_were_loaded_with(stack_run):
    home, run = stack_run
    assert run.returncode == 0, run.stderr[-3000:]
    demo = home / "demo"
    log_docs = sum(
        isinstance(_json(line), dict) for f in (demo / "logs").glob("*.jsonl") for line in f.open()
    )
    last_ldif = sorted((demo / "directory").glob("*.ldif"))[-1].read_text()
    om_series = {
        m.group(1) for f in (demo / "metrics").glob("*.om") for line in f.open() if (m := SAMPLE.match(line))
    }
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        logs = con.sql("select count(*), min(source), max(source) from log_records").fetchall()[0]
        users = con.sql("select count(*) from directory_users where source = 'ldap:demo'").fetchall()[0][0]
        series = con.sql(
            "select count(*) from (select distinct metric, labels from metric_samples "
            "where source = 'prometheus:demo')"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert logs == (log_docs, "elasticsearch:demo", "elasticsearch:demo")
    assert users == last_ldif.count("objectClass: inetOrgPerson")
    assert series == len(om_series)


def test_the_servers_are_stopped_when_the_script_ends(stack_run):
    home, run = stack_run
    env = dict(
        shlex.split(line)[0].split("=", 1)
        for line in (home / "live-stack" / "stack.env").read_text().splitlines()
    )
    pids = [int(pid) for pid in env["PIDS"].split()]
    assert len(pids) == 3
    for pid in pids:
        assert _program(pid) not in ("prometheus", "slapd", "noida-db"), pid
    assert "stopped the live stack" in run.stderr
    assert READER_PASSWORD not in run.stdout + run.stderr
    # Neither in a config, a log, an LDIF nor the directory's database: slapd holds a salted hash.
    leaked = [
        p
        for p in (home / "live-stack").rglob("*")
        if p.is_file() and READER_PASSWORD.encode() in p.read_bytes()
    ]
    assert leaked == []


def test_a_second_run_over_the_same_home_changes_no_count(stack_run, tmp_path):
    home, first = stack_run
    assert first.returncode == 0, first.stderr[-3000:]
    second = run_script(home, tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    counts = printed_counts(second.stdout)
    # Each collection is one more accounted batch; every data table keeps its rows.
    assert counts.pop("ingest_batches") == 2 * printed_counts(first.stdout).pop("ingest_batches")
    assert counts == {k: v for k, v in printed_counts(first.stdout).items() if k != "ingest_batches"}


def _program(pid: int) -> str | None:
    """The program a live, non-zombie process runs (None when there is no such process)."""
    try:
        if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
            return None
        return Path(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()).name
    except OSError:
        return None


def _json(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None
