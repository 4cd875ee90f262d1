"""A real Prometheus (Debian's package) serving two days of the demo company's metrics.

The demo's OpenMetrics day files are turned into TSDB blocks once per session with
``promtool tsdb create-blocks-from openmetrics``; each server gets its own copy of the blocks
(Prometheus rewrites its data dir when it compacts), listens on a free 127.0.0.1 port and is
stopped by PID.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from deploy.live.servers import Prometheus, backfill, free_port

DEMO_START = date(2026, 10, 1)
DEMO_DAYS = 2


def _server_over_copy(blocks: Path, folder: Path) -> Prometheus:
    data_dir = folder / "data"
    shutil.copytree(blocks, data_dir)
    return Prometheus(free_port(), folder, data_dir=data_dir)


@pytest.fixture(scope="session")
def prometheus_blocks(tmp_path_factory) -> Path:
    """TSDB blocks of two demo days (demo: 30 users, scale 0.1, 60 s scrapes), built once."""
    from opsledger.demo import generate

    root = tmp_path_factory.mktemp("prometheus-blocks")
    generate(root / "demo", days=DEMO_DAYS, start=DEMO_START, users=30, scale=0.1, scrape_interval_s=60)
    return backfill(sorted((root / "demo" / "metrics").glob("*.om")), root / "blocks")


@pytest.fixture
def start_prometheus(prometheus_blocks, tmp_path_factory) -> Iterator:
    """Start private servers over fresh copies of the blocks (for tests that kill them)."""
    started: list[Prometheus] = []

    def start(server: Prometheus | None = None) -> Prometheus:
        server = server or _server_over_copy(prometheus_blocks, tmp_path_factory.mktemp("prometheus"))
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def prometheus(prometheus_blocks, tmp_path_factory) -> Iterator[Prometheus]:
    """The shared server; tests must not stop it."""
    server = _server_over_copy(prometheus_blocks, tmp_path_factory.mktemp("prometheus-shared")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_range() -> tuple[datetime, datetime]:
    start = datetime(DEMO_START.year, DEMO_START.month, DEMO_START.day, tzinfo=UTC)
    return start, start + timedelta(days=DEMO_DAYS)
