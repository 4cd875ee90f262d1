"""TLS of the Elasticsearch collector. noida-db (the only Elasticsearch-API server that runs here)
has no TLS, so a small TLS-terminating proxy on 127.0.0.1 with the throwaway CA's server
certificate stands in front of it: the collector's HTTPS client, certificate checks and error
messages are real, only the TLS endpoint is ours (a protocol-boundary test, not a mock)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pytest
from elasticsearch import Elasticsearch, helpers

from collectors.elasticsearch_live import ElasticsearchSettings
from deploy.live.servers import SearchServer, free_port
from opsledger import lake, watermarks
from opsledger.errors import OpsledgerError
from opsledger.live_events import collect_events
from opsledger.settings import Settings

START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)
DOCS = [
    {
        "@timestamp": f"2026-10-01T{hour:02d}:15:00Z",
        "log": {"level": "error" if hour % 5 == 0 else "info"},
        "message": f"request {hour}",
        "service": {"name": "checkout"},
    }
    for hour in range(24)
]
API_KEY_ENV = "OPSLEDGER_TEST_TLS_ES_KEY"
API_KEY = "dGxzLXRlc3Q6c2VjcmV0LWtleS0wNDcx"


class TlsProxy:
    """Accepts TLS with the given certificate and pipes the plain bytes to ``upstream``."""

    def __init__(self, cert_file, key_file, upstream: tuple[str, int]) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert_file, key_file)
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handshakes_refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_refused += 1  # the collector refused our certificate
            raw.close()
            return
        server = socket.create_connection(self.upstream)
        threading.Thread(target=_pipe, args=(server, client), daemon=True).start()
        _pipe(client, server)

    def close(self) -> None:
        self.listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture(scope="module")
def tls_search(pki, tmp_path_factory) -> Iterator[TlsProxy]:
    server = SearchServer(free_port(), tmp_path_factory.mktemp("tls-noida"))
    server.data_dir = server.folder / "data"
    server.start()
    try:
        with Elasticsearch(server.url, request_timeout=60) as es:
            ok, errors = helpers.bulk(es, ({"_index": "logs-tls", "_source": d} for d in DOCS), refresh=True)
            assert ok == len(DOCS) and not errors
        proxy = TlsProxy(pki.cert_file, pki.key_file, ("127.0.0.1", server.port))
        yield proxy
        proxy.close()
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("OPSLEDGER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    # Set as on many machines: an HTTP client must not let it replace the configured trust.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    return Settings()


def es_settings(url: str, **tls) -> ElasticsearchSettings:
    return ElasticsearchSettings(
        name="tls",
        url=url,
        targets=[{"table": "log_records", "index": "logs-tls", "tiebreak_field": "message.keyword"}],
        api_key_env=API_KEY_ENV,
        retries=1,
        backoff_s=0.01,
        timeout_s=10,
        **tls,
    )


def stored_messages(settings: Settings) -> list[str]:
    if not lake.has_files(settings.lake_dir, "log_records"):
        return []
    con = duckdb.connect()
    try:
        rows = con.execute(
            "select message from read_parquet(?) order by ts",
            [lake.table_glob(settings.lake_dir, "log_records")],
        ).fetchall()
    finally:
        con.close()
    return [message for (message,) in rows]


def test_refuses_an_untrusted_certificate_by_default(tls_search, settings):
    refused_before = tls_search.handshakes_refused
    with pytest.raises(OpsledgerError) as failure:
        collect_events(settings, es_settings(tls_search.url), START, END)
    message = str(failure.value)
    assert message.startswith(f"elasticsearch:tls: log_records from 'logs-tls' at {tls_search.url} ")
    assert "TLS verification failed" in message and "certificate verify failed" in message
    assert API_KEY not in message
    assert tls_search.handshakes_refused > refused_before  # the client, not the server, said no
    assert stored_messages(settings) == []
    assert watermarks.get(settings.home_dir, "elasticsearch:tls", "log_records") is None


@pytest.mark.parametrize("tls", [{"ca_file": "CA"}, {"verify_tls": False}], ids=["ca_file", "no_verify"])
def test_collects_over_tls_when_told_how_to_trust(tls, tls_search, pki, settings):
    tls = {k: str(pki.ca_file) if v == "CA" else v for k, v in tls.items()}
    [collection] = collect_events(settings, es_settings(tls_search.url, **tls), START, END)
    assert collection.rows_written == len(DOCS)
    assert stored_messages(settings) == [d["message"] for d in DOCS]
    assert watermarks.get(settings.home_dir, "elasticsearch:tls", "log_records") == END
