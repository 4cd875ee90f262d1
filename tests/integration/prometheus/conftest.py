"""A real Prometheus (Debian's package) serving two days of the demo company's metrics.

The demo's OpenMetrics day files are turned into TSDB blocks once per session with
``promtool tsdb create-blocks-from openmetrics``; each server gets its own copy of the blocks
(Prometheus rewrites its data dir when it compacts), listens on a free 127.0.0.1 port and is
stopped by PID.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
DEMO_START = date(2026, 10, 1)
DEMO_DAYS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrometheusServer:
    data_dir: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        log = (self.data_dir.parent / f"prometheus-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={CONFIG}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={self.data_dir}",
                "--storage.tsdb.retention.time=100y",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir.parent,
        )
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus on port {self.port} not ready within 20 s; see {log.name}")

    def kill(self) -> None:
        """Die like a crashed server: SIGKILL, no clean shutdown."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def prometheus_blocks(tmp_path_factory) -> Path:
    """TSDB blocks of two demo days (demo: 30 users, scale 0.1, 60 s scrapes), built once."""
    from opsledger.demo import generate

    root = tmp_path_factory.mktemp("prometheus-blocks")
    generate(root / "demo", days=DEMO_DAYS, start=DEMO_START, users=30, scale=0.1, scrape_interval_s=60)
    blocks = root / "blocks"
    for day_file in sorted((root / "demo" / "metrics").glob("*.om")):
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(day_file), str(blocks)],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return blocks


@pytest.fixture
def start_prometheus(prometheus_blocks, tmp_path_factory) -> Iterator:
    """Start private servers over fresh copies of the blocks (for tests that kill them)."""
    started: list[PrometheusServer] = []

    def start(server: PrometheusServer | None = None) -> PrometheusServer:
        if server is None:
            data_dir = tmp_path_factory.mktemp("prometheus") / "data"
            shutil.copytree(prometheus_blocks, data_dir)
            server = PrometheusServer(data_dir, free_port())
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def prometheus(prometheus_blocks, tmp_path_factory) -> Iterator[PrometheusServer]:
    """The shared server; tests must not stop it."""
    data_dir = tmp_path_factory.mktemp("prometheus-shared") / "data"
    shutil.copytree(prometheus_blocks, data_dir)
    server = PrometheusServer(data_dir, free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_range() -> tuple[datetime, datetime]:
    start = datetime(DEMO_START.year, DEMO_START.month, DEMO_START.day, tzinfo=UTC)
    return start, start + timedelta(days=DEMO_DAYS)
