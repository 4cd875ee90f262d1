"""An Elasticsearch-API-compatible server (noida-db, from PyPI) seeded with two demo days.

No real Elasticsearch can run on these machines (see machine-notes), so the collector is tested
over HTTP against noida-db's binary, started directly (not through its Python wrapper, so the PID
we stop is the server's), on a free 127.0.0.1 port in a temp dir, seeded with ``helpers.bulk``
from the demo generator's logs / audit / events files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch, helpers

from deploy.live.servers import SearchServer, free_port

DEMO_START = date(2026, 10, 1)
DEMO_DAYS = 2
# target table -> (index, demo folder, time field, tiebreak field)
INDICES = {
    "log_records": ("logs-demo", "logs", "@timestamp", "service.name.keyword"),
    "audit_events": ("audit-demo", "audit", "ts", "session_id.keyword"),
    "product_events": ("events-demo", "events", "timestamp", "uuid.keyword"),
}


def _server_in(folder: Path) -> SearchServer:
    return SearchServer(free_port(), folder, data_dir=folder / "data")


def json_documents(path: Path) -> list[dict]:
    """The lines of a demo file that a search server can index (JSON objects; the demo also
    writes a deliberately broken line, which only the file path can see and reject)."""
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    return docs


def seed(url: str, demo_dir: Path, tables=tuple(INDICES)) -> dict[str, int]:
    """Bulk-index the demo files of ``tables``; returns the documents indexed per table."""
    counts = {}
    with Elasticsearch(url, request_timeout=60) as es:
        for table in tables:
            index, folder, _, _ = INDICES[table]
            docs = [d for f in sorted((demo_dir / folder).glob("*.jsonl")) for d in json_documents(f)]
            ok, errors = helpers.bulk(es, ({"_index": index, "_source": d} for d in docs), refresh=True)
            assert not errors
            counts[table] = ok
    return counts


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
