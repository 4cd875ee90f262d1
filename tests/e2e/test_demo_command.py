"""The README's first command, end to end: `opsledger demo` builds everything, and `serve`
brings up the dashboards and the Dagster UI on 127.0.0.1 and stops them cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from opsledger.contract import SCHEMAS

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLEDGER_", "DAGSTER_"))}
    return {**env, "OPSLEDGER_HOME": str(home)}


@pytest.fixture(scope="module")
def demo_built(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("demo-command") / "home"
    done = subprocess.run(
        [BIN / "opsledger", "demo", "--no-serve", "--days", "2", "--users", "40", "--scale", "0.1"],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "asset checks passed" in done.stderr
    return home


def test_demo_fills_every_table_of_the_contract(demo_built):
    counts = {}
    for table in SCHEMAS:
        out = subprocess.run(
            [BIN / "opsledger", "sql", f"select count(*) as n from {table}", "--format", "json"],
            env=_env(demo_built),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        counts[table] = json.loads(out)[0]["n"]
    assert all(n > 0 for n in counts.values()), counts


def test_rerunning_the_demo_changes_no_count(demo_built):
    query = (
        "select (select count(*) from log_records), (select count(*) from metric_samples), "
        "(select count(*) from quarantine), (select sum(requests) from mart_service_daily)"
    )

    def read() -> str:
        sql = [BIN / "opsledger", "sql", query, "--format", "csv"]
        return subprocess.run(sql, env=_env(demo_built), capture_output=True, text=True, check=True).stdout

    before = read()
    subprocess.run(
        [BIN / "opsledger", "demo", "--no-serve", "--days", "2", "--users", "40", "--scale", "0.1"],
        env=_env(demo_built),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert read() == before


def test_serve_answers_on_both_urls_and_stops_on_sigterm(demo_built):
    dashboard_port, dagster_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [
            BIN / "opsledger",
            "serve",
            "--dashboard-port",
            str(dashboard_port),
            "--dagster-port",
            str(dagster_port),
        ],
        env=_env(demo_built),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        urls = []
        deadline = time.monotonic() + 180
        while len(urls) < 2 and time.monotonic() < deadline:
            line = server.stdout.readline()
            assert line, "serve exited before printing its URLs"
            if line.startswith(("dashboards: ", "Dagster UI: ")):
                urls.append(line.split(": ", 1)[1].strip())
        assert urls == [f"http://127.0.0.1:{dashboard_port}", f"http://127.0.0.1:{dagster_port}"]
        with urllib.request.urlopen(f"{urls[0]}/_stcore/health", timeout=10) as health:
            assert health.read() == b"ok"
        with urllib.request.urlopen(f"{urls[1]}/server_info", timeout=10) as info:
            assert "dagster_webserver_version" in json.loads(info.read())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    for port in (dashboard_port, dagster_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers after serve stopped"
