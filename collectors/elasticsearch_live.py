"""Elasticsearch search API → ``log_records`` / ``audit_events`` / ``product_events``.

Targets the core search API that Elasticsearch 7.10+, 8.x and 9.x share (``_search`` with
``search_after``, ``_pit``); nothing else is used, so it behaves the same on a real cluster as on
the Elasticsearch-compatible test server. Each hit's ``_source`` goes through the same mapping SQL
as a JSON-lines file (``collectors.jsonlines``), so a document maps identically from either path.

Paging: a range query on the target's time field, sorted by [time field, tiebreak field], walked
with ``search_after``. A point in time is opened when the server has one (ES 7.10+; it then appends
the implicit ``_shard_doc`` tiebreak, so sort keys are unique and the pages are one consistent
snapshot); when opening it fails with an API error the walk is a plain ``search_after``. Sorting on
``_id`` is refused by some servers and costly on all, hence a real tiebreak field (a keyword such
as ``event.id`` or ``service.name.keyword``). Sort keys need not be unique: a full page's last
group of equal keys is held back and fetched again at the head of the next page (``search_after``
the last key before it), so documents sharing a key across a page boundary are never skipped.

Requests are retried on connection errors, timeouts, 429 and 5xx with exponential backoff and
equal jitter, honouring ``Retry-After``; the client's own retries are off so there is one policy.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import elasticsearch
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collectors import audit, logs, product_events
from collectors.base import Chunk, Reject
from collectors.jsonlines import BlockMapper, JsonMapping
from collectors.live_http import (
    RETRY_STATUSES,
    HttpSourceSettings,
    Retryable,
    RetryingClient,
    connection_reason,
    retry_after,
    tls_failure,
)
from opsledger.errors import OpsledgerError

log = logging.getLogger(__name__)

Table = Literal["log_records", "audit_events", "product_events"]
MAPPINGS: dict[str, JsonMapping] = {
    "log_records": logs.mapping(),
    "audit_events": audit.MAPPING,
    "product_events": product_events.MAPPING,
}
# Where an overridden column is written in the document: the key the mapping SQL reads first
# for that column (see sql/collectors/map_<table>.sql), so the override wins over the dialect.
OVERRIDE_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "log_records": {
        "ts": ("@timestamp",),
        "service": ("service", "name"),
        "environment": ("service", "environment"),
        "level": ("log", "level"),
        "message": ("message",),
        "logger": ("log", "logger"),
        "trace_id": ("trace", "id"),
        "span_id": ("span", "id"),
        "correlation_id": ("transaction", "id"),
        "user_id": ("user", "id"),
        "tenant_id": ("labels", "tenant_id"),
        "http_method": ("http", "request", "method"),
        "http_status": ("http", "response", "status_code"),
        "url_path": ("url", "path"),
        "duration_ms": ("duration_ms",),
    },
    "audit_events": {
        c: (c,)
        for c in ("ts", "actor", "action", "resource", "outcome", "tenant_id", "session_id", "source_ip")
    }
    | {"user_agent": ("userAgent",)},
    "product_events": {c: (c,) for c in ("distinct_id", "event", "session_id", "tenant_id")}
    | {"ts": ("timestamp",)},
}


class ElasticsearchError(OpsledgerError):
    """A collection from Elasticsearch failed; the message names source, URL and range, never secrets."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status of a refused request, None for connection trouble


class SearchTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    table: Table
    index: str = Field(min_length=1, description="index pattern(s), comma-separated, e.g. logs-*")
    time_field: str = Field(default="@timestamp", min_length=1)
    tiebreak_field: str = Field(min_length=1, description="a sortable field (keyword/number), not _id")
    field_map: dict[str, str] = Field(
        default_factory=dict, description="our column -> the document field (dotted path) that holds it"
    )

    @field_validator("tiebreak_field")
    @classmethod
    def _not_id(cls, value: str) -> str:
        if value == "_id":
            raise ValueError("sorting on _id is refused by some servers and costly on all: name a real field")
        return value

    @model_validator(mode="after")
    def _known_columns(self) -> SearchTarget:
        unknown = sorted(set(self.field_map) - set(OVERRIDE_PATHS[self.table]))
        if unknown:
            known = ", ".join(OVERRIDE_PATHS[self.table])
            raise ValueError(f"field_map: no column {unknown[0]!r} in {self.table} (known: {known})")
        return self


class ElasticsearchSettings(HttpSourceSettings):
    """One cluster and what to collect from it."""

    KIND = "elasticsearch"

    targets: list[SearchTarget] = Field(min_length=1)
    api_key_env: str | None = Field(default=None, description="holds the encoded API key (id:key base64)")
    timeout_s: float = Field(default=30.0, gt=0, description="per request")
    page_size: int = Field(default=1000, ge=2, le=10_000, description="hits per request (ES caps at 10,000)")
    keep_alive: str = Field(default="2m", description="point-in-time keep-alive between pages")

    @model_validator(mode="after")
    def _consistent(self) -> ElasticsearchSettings:
        if self.api_key_env and self.username_env:
            raise ValueError("give an API key (api_key_env) or basic auth, not both")
        tables = [t.table for t in self.targets]
        if len(tables) != len(set(tables)):
            raise ValueError("one target per table (list several indices in one pattern: a-*,b-*)")
        return self


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class SearchClient(RetryingClient):
    """The official client with our retry policy; reads credentials from the environment."""

    error_type = ElasticsearchError
    log = log

    def __init__(
        self, settings: ElasticsearchSettings, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(settings, sleep)
        auth: dict[str, Any] = {}
        if settings.api_key_env:
            auth["api_key"] = self._env(settings.api_key_env, "api_key_env")
        elif basic := self.basic_auth():
            user, password = basic
            # what travels in the Authorization header, should a server echo it back
            self._secrets.append(base64.b64encode(f"{user}:{password}".encode()).decode())
            auth["basic_auth"] = basic
        self.es = elasticsearch.Elasticsearch(
            settings.url,
            verify_certs=settings.verify_tls,
            ca_certs=settings.ca_file,
            request_timeout=settings.timeout_s,
            max_retries=0,
            retry_on_timeout=False,
            **auth,
        )
        # The transport's DEBUG trace prints response bodies verbatim: a server that echoes the
        # request's credentials in an error would put them in the logs. Redact them there too.
        self._trace_filter = _Redacting(self)
        _TRACE_LOGGER.addFilter(self._trace_filter)

    def close(self) -> None:
        _TRACE_LOGGER.removeFilter(self._trace_filter)
        self.es.close()

    def call(self, where: str, method: Callable[..., Any], **kwargs: Any) -> dict:
        """``method(**kwargs)``'s body, retried on connection errors, timeouts, 429 and 5xx."""
        s = self.settings

        def once() -> dict:
            try:
                return method(**kwargs).body
            except elasticsearch.ConnectionTimeout:
                raise Retryable(f"no answer within {s.timeout_s:g} s (timeout)") from None
            except elasticsearch.ConnectionError as exc:
                # The transport's str() names only the error class; the cause is in message/errors.
                detail = f"{exc} {exc.message} {' '.join(map(str, exc.errors))}"
                if "CERTIFICATE_VERIFY_FAILED" in detail:
                    raise self.error(
                        where, f"TLS verification failed ({tls_failure(detail)}); set ca_file"
                    ) from None
                # The transport's str() is only 'Connection error': the cause is in its errors.
                text = f"{exc.message} {' '.join(map(str, exc.errors))}"
                raise Retryable(f"connection failed ({connection_reason(text, exc)})") from None
            except elasticsearch.ApiError as exc:
                cause = f"HTTP {exc.meta.status}: {_api_reason(exc)}"
                if exc.meta.status in (401, 403):
                    raise self.error(
                        where, f"{cause}; check the credentials' environment variables", exc.meta.status
                    ) from None
                if exc.meta.status not in RETRY_STATUSES:
                    raise self.error(where, cause, status=exc.meta.status) from None
                raise Retryable(cause, retry_after(exc.meta)) from None

        return self.retrying(where, once)

    def error(self, where: str, cause: str, status: int | None = None) -> ElasticsearchError:
        return ElasticsearchError(self.redact(f"{self.settings.source}: {where}: {cause}"), status)


_TRACE_LOGGER = logging.getLogger("elastic_transport.node")


class _Redacting(logging.Filter):
    def __init__(self, client: SearchClient) -> None:
        super().__init__()
        self.client = client

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        redacted = self.client.redact(text)
        if redacted != text:
            record.msg, record.args = redacted, ()
        return True


def _api_reason(exc: elasticsearch.ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    text = (error.get("reason") or error.get("type")) if isinstance(error, dict) else error or exc.message
    return " ".join(str(text).split())[:200]


def _set_path(doc: dict, path: tuple[str, ...], value: Any) -> None:
    """Set ``doc[a][b]...`` (copying the objects on the way, so the hit itself is left as it came)."""
    for key in path[:-1]:
        inner = doc.get(key)
        doc[key] = dict(inner) if isinstance(inner, dict) else {}
        doc = doc[key]
    doc[path[-1]] = value


def _get_path(doc: dict, dotted: str) -> Any:
    if dotted in doc:  # a flattened key, as some shippers write them
        return doc[dotted]
    value: Any = doc
    for key in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _source_lines(hits: list[dict], target: SearchTarget) -> list[str]:
    """The hits' ``_source`` as JSON text lines, with the target's field overrides applied."""
    if not target.field_map:
        return [json.dumps(h.get("_source"), ensure_ascii=False, separators=(",", ":")) for h in hits]
    paths = OVERRIDE_PATHS[target.table]
    lines = []
    for hit in hits:
        doc = hit.get("_source")
        if isinstance(doc, dict):
            doc = dict(doc)
            for column, field in target.field_map.items():
                _set_path(doc, paths[column], _get_path(hit["_source"], field))
        lines.append(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
    return lines


class PageMapper:
    """Maps pages of hits with the JSON-lines mapping of one table (one DuckDB connection)."""

    def __init__(self, target: SearchTarget, source: str) -> None:
        self.target = target
        self.mapper = BlockMapper(MAPPINGS[target.table], source)

    def close(self) -> None:
        self.mapper.close()

    def chunk(self, hits: list[dict]) -> Chunk:
        lines = pa.table(
            {
                "n": pa.array(range(1, len(hits) + 1), pa.int64()),
                "line": pa.array(_source_lines(hits, self.target)),
            }
        )
        rows, accepted, bad = self.mapper.split(self.mapper.map(lines, True), lines)
        rejects = [
            Reject(
                f"{hits[r['_position'] - 1]['_index']}/{hits[r['_position'] - 1]['_id']}",
                r["_reason"],
                r["_raw"] or "",
            )
            for r in bad.select(["_position", "_reason", "_raw"]).to_pylist()
        ]
        return Chunk({self.target.table: rows}, accepted, rejects)


def search_pages(
    client: SearchClient, target: SearchTarget, start: datetime, end: datetime
) -> Iterator[list[dict]]:
    """The hits of ``target`` with time in [start, end), page by page, each document once."""
    s = client.settings
    where = f"{target.table} from {target.index!r} at {s.url} for [{_iso(start)}, {_iso(end)})"
    query = {
        "range": {
            target.time_field: {"gte": _iso(start), "lt": _iso(end), "format": "strict_date_optional_time"}
        }
    }
    sort = [{target.time_field: "asc"}, {target.tiebreak_field: {"order": "asc", "missing": "_last"}}]
    pit_id = _open_pit(client, target, where)
    after: list | None = None
    try:
        while True:
            request: dict[str, Any] = {
                "query": query,
                "sort": sort,
                "size": s.page_size,
                "track_total_hits": False,
            }
            if pit_id:
                request["pit"] = {"id": pit_id, "keep_alive": s.keep_alive}
            else:
                request["index"] = target.index
                request["ignore_unavailable"] = True
            if after is not None:
                request["search_after"] = after
            body = client.call(where, client.es.search, **request)
            pit_id = body.get("pit_id", pit_id)  # ES may hand back a new id: always use the latest
            hits = body["hits"]["hits"]
            if len(hits) < s.page_size:
                if hits:
                    yield hits
                return
            # Hold back the last group of equal sort keys: the next page starts again at it.
            last = hits[-1]["sort"]
            cut = len(hits) - 1
            while cut > 0 and hits[cut - 1]["sort"] == last:
                cut -= 1
            if cut == 0:
                raise client.error(
                    where,
                    f"more than page_size={s.page_size} documents share the sort key {last}: "
                    f"choose a more selective tiebreak_field than {target.tiebreak_field!r} "
                    "or a larger page_size",
                )
            after = hits[cut - 1]["sort"]
            yield hits[:cut]
    finally:
        if pit_id:
            # best effort: it expires after keep_alive anyway
            with contextlib.suppress(elasticsearch.ApiError, elasticsearch.TransportError):
                client.es.close_point_in_time(id=pit_id)


def _open_pit(client: SearchClient, target: SearchTarget, where: str) -> str | None:
    try:
        body = client.call(
            where, client.es.open_point_in_time, index=target.index, keep_alive=client.settings.keep_alive
        )
    except ElasticsearchError as exc:
        if exc.status is None or exc.status in (401, 403):
            raise  # connection trouble, not a missing feature
        log.info(
            "%s: no point in time for %r (%s); paging without one", client.settings.source, target.index, exc
        )
        return None
    return body.get("id")


def collect(
    settings: ElasticsearchSettings,
    target: SearchTarget,
    start: datetime,
    end: datetime,
    *,
    client: SearchClient,
    mapper: PageMapper,
) -> Iterator[Chunk]:
    """Contract chunks of one target over [start, end), a page at a time (bounded memory)."""
    for hits in search_pages(client, target, start, end):
        for offset in range(0, len(hits), settings.chunk_rows):
            yield mapper.chunk(hits[offset : offset + settings.chunk_rows])
