"""Prometheus HTTP API (``/api/v1/query_range``) → ``metric_samples``, for configured queries.

Plain ``requests`` rather than ``prometheus-api-client``'s ``PrometheusConnect``: on a non-200
answer the client raises with only the status and raw body, so the ``Retry-After`` header of a 429
/ 503 and Prometheus' own error text are lost, and it rounds range bounds to whole seconds. Here
every request is retried on connection errors, timeouts, 429 and 5xx with exponential backoff and
jitter, honouring ``Retry-After``; after the last attempt one error names the source, the URL
(never credentials) and the range.

A query is evaluated on the grid ``start + k·step`` for every point in [start, end). Requests are
split so none asks for more than ``max_points_per_request`` points per series: Prometheus refuses
more than 11,000 ("exceeded maximum resolution"). One record = one point of one series; ``metric``
is the series' ``__name__`` (else the query's name, else the query text) and the other labels go
to ``labels``. Values are stored as Prometheus returns them: counters raw, resets included.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import requests
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collectors.base import Chunk, Reject
from collectors.live_http import (
    RETRY_STATUSES,
    HttpSourceSettings,
    Retryable,
    RetryingClient,
    connection_reason,
    retry_after,
    tls_failure,
)
from opsledger.contract import SCHEMAS
from opsledger.errors import OpsledgerError

log = logging.getLogger(__name__)

TABLE = "metric_samples"
MAX_POINTS = 11_000  # Prometheus' per-series limit for one query_range
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


class PrometheusError(OpsledgerError):
    """A collection from Prometheus failed; the message names source, URL and range, never secrets."""


def parse_step_ms(value: str | int | float) -> int:
    """A step as whole milliseconds: seconds as a number, or a Prometheus duration (``30s``, ``1m30s``)."""
    if isinstance(value, int | float):
        ms = round(value * 1000)
    else:
        text = value.strip()
        match = _DURATION.match(text)
        if text and match and any(match.groups()):
            d, h, m, s, milli = (int(g or 0) for g in match.groups())
            ms = (((d * 24 + h) * 60 + m) * 60 + s) * 1000 + milli
        else:
            try:
                ms = round(float(text) * 1000)
            except ValueError:
                raise ValueError(f"not a duration: {value!r} (expected e.g. 60, '30s', '1m')") from None
    if ms <= 0:
        raise ValueError(f"step must be positive (got {value!r})")
    return ms


class PrometheusQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, description="metric name for results without __name__")
    query: str = Field(min_length=1, description="PromQL expression or raw series selector")
    step: str | int | float = Field(default="60s", description="resolution: seconds or a duration")

    @field_validator("step")
    @classmethod
    def _valid_step(cls, value: str | int | float) -> str | int | float:
        parse_step_ms(value)
        return value

    @property
    def step_ms(self) -> int:
        return parse_step_ms(self.step)

    @property
    def label(self) -> str:
        return self.name or self.query


class PrometheusSettings(HttpSourceSettings):
    """One Prometheus server and what to collect from it."""

    KIND = "prometheus"
    BASE_URL_ONLY = True

    queries: list[PrometheusQuery] = Field(min_length=1)
    bearer_token_env: str | None = None
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    max_points_per_request: int = Field(default=MAX_POINTS, ge=1, le=MAX_POINTS)

    @model_validator(mode="after")
    def _one_auth(self) -> PrometheusSettings:
        if self.bearer_token_env and self.username_env:
            raise ValueError("give basic auth (username_env/password_env) or bearer_token_env, not both")
        return self


def windows(start_ms: int, end_ms: int, step_ms: int, max_points: int) -> list[tuple[int, int]]:
    """Inclusive [first, last] evaluation times of each request covering the points in [start, end)."""
    n = -(-(end_ms - start_ms) // step_ms) if end_ms > start_ms else 0
    return [
        (start_ms + k * step_ms, start_ms + (min(k + max_points, n) - 1) * step_ms)
        for k in range(0, n, max_points)
    ]


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("collection times must be timezone-aware")
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _iso(ms: int) -> str:
    return (EPOCH + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")


class PrometheusClient(RetryingClient):
    """``query_range`` with retries; reads credentials from the environment when created."""

    error_type = PrometheusError
    log = log

    def __init__(self, settings: PrometheusSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, sleep)
        self.session = requests.Session()
        # Passed with every request, not only set on the session: requests lets REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE override a session's verify (psf/requests#3829), which would ignore both a
        # configured ca_file and verify_tls: false wherever those variables are set.
        self.verify: bool | str = (settings.ca_file or True) if settings.verify_tls else False
        self.session.verify = self.verify
        if settings.bearer_token_env:
            token = self._env(settings.bearer_token_env, "bearer_token_env")
            self.session.headers["Authorization"] = f"Bearer {token}"
        else:
            self.session.auth = self.basic_auth()

    def close(self) -> None:
        self.session.close()

    def query_range(self, query: PrometheusQuery, first_ms: int, last_ms: int) -> list[dict]:
        """The ``result`` of one query_range request (a list of series with ``metric`` and ``values``)."""
        s = self.settings
        url = f"{s.url}/api/v1/query_range"
        params = {
            "query": query.query,
            "start": f"{first_ms / 1000:.3f}",
            "end": f"{last_ms / 1000:.3f}",
            "step": f"{query.step_ms / 1000:.3f}",
        }
        where = f"query {query.label!r} at {s.url} for [{_iso(first_ms)}, {_iso(last_ms)}]"

        def once() -> list[dict]:
            try:
                response = self.session.get(
                    url, params=params, timeout=(s.connect_timeout_s, s.read_timeout_s), verify=self.verify
                )
            except requests.exceptions.SSLError as exc:
                raise self.error(
                    where, f"TLS verification failed ({tls_failure(exc)}); set ca_file"
                ) from None
            except requests.exceptions.ConnectTimeout:
                raise Retryable(f"no connection within {s.connect_timeout_s:g} s (connect timeout)") from None
            except requests.exceptions.ReadTimeout:
                raise Retryable(f"no answer within {s.read_timeout_s:g} s (read timeout)") from None
            except requests.exceptions.RequestException as exc:
                raise Retryable(f"connection failed ({connection_reason(str(exc), exc)})") from None
            if response.status_code == 200:
                return self._result(response, where)
            cause = f"HTTP {response.status_code}{_server_error(response)}"
            if response.status_code in (401, 403):
                raise self.error(where, f"{cause}; check the credentials' environment variables")
            if response.status_code not in RETRY_STATUSES:
                raise self.error(where, cause)
            raise Retryable(cause, retry_after(response))

        return self.retrying(where, once)

    def _result(self, response: requests.Response, where: str) -> list[dict]:
        try:
            body = response.json()
            data = body["data"]
            if body.get("status") != "success" or data["resultType"] != "matrix":
                raise ValueError
            return data["result"]
        except (ValueError, KeyError, TypeError):
            raise self.error(where, "the answer is not a Prometheus query_range matrix") from None


def _server_error(response: requests.Response) -> str:
    try:
        text = response.json().get("error") or ""
    except ValueError:
        text = response.text
    text = " ".join(str(text).split())[:200]
    return f": {text}" if text else ""


def _samples(query: PrometheusQuery, series: list[dict], source: str) -> tuple[pa.Table, list[Reject]]:
    """One response as contract rows: per-series numpy parsing, labels shared by ``take``."""
    names, label_sets, counts, ts_parts, value_parts = [], [], [], [], []
    rejects: list[Reject] = []
    for one in series:
        labels = dict(one.get("metric") or {})
        name = labels.pop("__name__", None) or query.label
        for point in one.get("histograms") or []:
            rejects.append(
                Reject(
                    f"query {query.label!r} series {name}{labels} at {point[0]}",
                    "field 'histograms': native histogram samples are not supported",
                    repr(point)[:1000],
                )
            )
        values = one.get("values") or []
        if not values:
            continue
        points = np.asarray(values, dtype=object)
        try:
            ts = points[:, 0].astype(np.float64)
            parsed = points[:, 1].astype(np.float64)
        except (ValueError, TypeError, IndexError):
            ts, parsed = _points_one_by_one(query, name, labels, values, rejects)
        names.append(name)
        label_sets.append(sorted(labels.items()))
        counts.append(len(ts))
        ts_parts.append(ts)
        value_parts.append(parsed)
    schema = SCHEMAS[TABLE]
    if not counts:
        return schema.empty_table(), rejects
    rows = np.repeat(np.arange(len(counts)), counts)
    ts_us = np.rint(np.concatenate(ts_parts) * 1000).astype(np.int64) * 1000
    n = len(ts_us)
    table = pa.table(
        {
            "ts": pa.array(ts_us, type=schema.field("ts").type),
            "metric": pc.take(pa.array(names, pa.string()), rows),
            "labels": pc.take(pa.array(label_sets, schema.field("labels").type), rows),
            "value": pa.array(np.concatenate(value_parts), pa.float64()),
            "source": pa.array(np.full(n, source, dtype=object), pa.string()),
        },
        schema=schema,
    )
    return table, rejects


def _points_one_by_one(query, name, labels, values, rejects) -> tuple[np.ndarray, np.ndarray]:
    """The rare series with a malformed point: keep the good points, reject the others."""
    ts, parsed = [], []
    for point in values:
        try:
            moment, value = float(point[0]), float(point[1])
            if not math.isfinite(moment):
                raise ValueError
        except (ValueError, TypeError, IndexError):
            rejects.append(
                Reject(
                    f"query {query.label!r} series {name}{labels}",
                    "field 'values': not a [timestamp, number] pair",
                    repr(point)[:1000],
                )
            )
            continue
        ts.append(moment)
        parsed.append(value)
    return np.asarray(ts, dtype=np.float64), np.asarray(parsed, dtype=np.float64)


def collect(
    settings: PrometheusSettings,
    start: datetime,
    end: datetime,
    *,
    client: PrometheusClient,
) -> Iterator[Chunk]:
    """Every configured query over [start, end), one request window at a time (bounded memory)."""
    start_ms, end_ms = to_ms(start), to_ms(end)
    for query in settings.queries:
        for first, last in windows(start_ms, end_ms, query.step_ms, settings.max_points_per_request):
            table, rejects = _samples(query, client.query_range(query, first, last), settings.source)
            if table.num_rows == 0:
                if rejects:
                    yield Chunk(rejects=rejects)
                continue
            for offset in range(0, table.num_rows, settings.chunk_rows):
                part = table.slice(offset, settings.chunk_rows)
                yield Chunk({TABLE: part}, part.num_rows, rejects if offset == 0 else [])
