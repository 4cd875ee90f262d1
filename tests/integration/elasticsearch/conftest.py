"""An Elasticsearch-API-compatible server (noida-db, from PyPI) seeded with two demo days.

No real Elasticsearch can run on these machines (see machine-notes), so the collector is tested
over HTTP against noida-db's binary, started directly (not through its Python wrapper, so the PID
we stop is the server's), on a free 127.0.0.1 port in a temp dir, seeded with ``helpers.bulk``
from the demo generator's logs / audit / events files (``deploy.live.stack.seed``, as the live stack
script seeds it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from deploy.live.servers import SearchServer, free_port
from deploy.live.stack import seed

DEMO_START = date(2026, 10, 1)
DEMO_DAYS = 2


def _server_in(folder: Path) -> SearchServer:
    return SearchServer(free_port(), folder, data_dir=folder / "data")


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    from opsledger.demo import generate

    out = tmp_path_factory.mktemp("es-demo") / "demo"
    generate(out, days=DEMO_DAYS, start=DEMO_START, users=30, scale=0.1)
    return out


@pytest.fixture(scope="session")
def search_server(demo_dir, tmp_path_factory) -> Iterator[SearchServer]:
    """The shared, seeded server; tests must not stop it."""
    server = _server_in(tmp_path_factory.mktemp("noida-shared")).start()
    server.seeded = seed(server.url, demo_dir)
    yield server
    server.stop()


@pytest.fixture
def start_search_server(tmp_path_factory) -> Iterator:
    """Start private servers (for tests that kill them); ``start(server)`` restarts one."""
    started: list[SearchServer] = []

    def start(server: SearchServer | None = None) -> SearchServer:
        server = server or _server_in(tmp_path_factory.mktemp("noida"))
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def demo_range() -> tuple[datetime, datetime]:
    start = datetime(DEMO_START.year, DEMO_START.month, DEMO_START.day, tzinfo=UTC)
    return start, start + timedelta(days=DEMO_DAYS)
