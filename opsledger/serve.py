"""Serve the Streamlit dashboards and the Dagster UI on 127.0.0.1, stopping both on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click

from opsledger.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def serve(settings: Settings, *, dashboard_port: int, dagster_port: int) -> None:
    from pipelines.run import ensure_instance

    ensure_instance(settings)
    env = {
        **os.environ,
        "OPSLEDGER_HOME": str(settings.home_dir),
        "OPSLEDGER_CONFIG": str(settings.config_path),
        "DAGSTER_HOME": str(settings.dagster_home),
    }
    streamlit = [
        str(BIN / "streamlit"),
        "run",
        str(ROOT / "dashboards" / "app.py"),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(dashboard_port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    dagster = [
        str(BIN / "dagster"),
        "dev",
        "-h",
        "127.0.0.1",
        "-p",
        str(dagster_port),
        "-m",
        "pipelines.definitions",
        "--working-directory",
        str(ROOT),
    ]
    # Stop on SIGTERM/SIGHUP too, and on SIGINT even when a non-interactive shell started us with it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    # Each server runs in its own session so that it gets real signals and can be stopped by PID.
    processes = [
        subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True) for cmd in (streamlit, dagster)
    ]
    try:
        _wait_ready(f"http://127.0.0.1:{dashboard_port}/_stcore/health", processes[0], "dashboards")
        _wait_ready(f"http://127.0.0.1:{dagster_port}/server_info", processes[1], "Dagster UI")
        click.echo(f"dashboards: http://127.0.0.1:{dashboard_port}")
        click.echo(f"Dagster UI: http://127.0.0.1:{dagster_port}")
        click.echo("press Ctrl-C to stop")
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        click.echo("opsledger: a server stopped; shutting down the other", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            _stop(process)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _wait_ready(url: str, process: subprocess.Popen, name: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"opsledger: error: the {name} server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"opsledger: error: the {name} server did not answer at {url} within {timeout_s:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    # SIGINT is what both servers treat as a clean shutdown (dagster dev maps SIGTERM onto it too).
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
