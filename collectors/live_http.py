"""What the live HTTP collectors (Prometheus, Elasticsearch) share: settings, one retry policy, credentials.

Requests are retried on connection errors, timeouts, 429 and 5xx with exponential backoff and
"equal jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): the wait always grows,
yet many collectors restarted together do not retry in lockstep. A ``Retry-After`` longer than
``backoff_max_s`` ends the retries at once rather than stalling a run. Credentials are read from
environment variables named in the settings and masked in every log line and error.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsledger.errors import OpsledgerError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
T = TypeVar("T")


class Retryable(Exception):
    """One attempt failed in a way worth retrying; ``cause`` says how, in a few words."""

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.cause, self.retry_after = cause, retry_after


def backoff_delay(attempt: int, backoff: float, backoff_max: float) -> float:
    """The wait before retry ``attempt + 1``: exponential, capped, with equal jitter."""
    delay = min(backoff_max, backoff * 2**attempt)
    return delay / 2 + random.uniform(0, delay / 2)


def retry_after(response: Any) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) of anything with ``headers``, in seconds."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def plain_url(value: str, *, base_only: bool = False) -> str:
    """An http(s) URL without credentials (they come from environment variables)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError("credentials do not belong in the URL: name environment variables instead")
    if base_only and (parts.query or parts.fragment):
        raise ValueError("the base URL takes no query string or fragment")
    return value.rstrip("/")


def tls_failure(error: BaseException | str) -> str:
    """What a failed certificate verification says, without the OpenSSL noise around it."""
    match = re.search(r"certificate verify failed: ([^(\]'\"]+)", str(error))
    return f"certificate verify failed: {match.group(1).strip()}" if match else "certificate verify failed"


def connection_reason(text: str, exc: BaseException) -> str:
    """The cause of a failed connection in a few words, from the ``text`` a client gives for it:
    the OS error (``[Errno 111] Connection refused``), a dropped connection, else the error's type."""
    match = re.search(r"\[Errno -?\d+\] [^'\"()\[\]]+", text)
    if match:
        return match.group(0).strip()
    if "RemoteDisconnected" in text or "aborted" in text.lower() or "reset" in text.lower():
        return "the server closed the connection"
    return type(exc).__name__


class HttpSourceSettings(BaseModel):
    """What every live HTTP source is configured with: a name (its source is ``<KIND>:<name>``), a
    base URL, basic auth, TLS, retries and chunking. Credentials are never values here, only the
    NAMES of environment variables that hold them, read when the client connects."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    KIND: ClassVar[str]
    # Whether the URL must be a bare base (Prometheus' API paths are appended to it).
    BASE_URL_ONLY: ClassVar[bool] = False

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="source is <kind>:<name>")
    url: str = Field(description="base URL, e.g. https://search.example.com:9200 (no credentials)")
    username_env: str | None = None
    password_env: str | None = None
    verify_tls: bool = True
    ca_file: str | None = Field(default=None, description="CA bundle to verify the server with")
    retries: int = Field(default=5, ge=0, description="attempts after the first")
    backoff_s: float = Field(default=0.5, ge=0, description="first retry delay; doubles per retry")
    backoff_max_s: float = Field(default=60.0, ge=0, description="longest wait, also for Retry-After")
    chunk_rows: int = Field(default=50_000, ge=1)

    @field_validator("url")
    @classmethod
    def _plain_url(cls, value: str) -> str:
        return plain_url(value, base_only=cls.BASE_URL_ONLY)

    @model_validator(mode="after")
    def _basic_auth(self) -> HttpSourceSettings:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("give both username_env and password_env, or neither")
        return self

    @property
    def source(self) -> str:
        return f"{self.KIND}:{self.name}"


class RetryingClient:
    """Base of a live client: credentials from the environment, masking, the retry loop."""

    error_type: ClassVar[type[OpsledgerError]]
    log: ClassVar[logging.Logger]

    def __init__(self, settings: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._secrets: list[str] = []
        self.retries_done = 0

    def _env(self, variable: str, field: str) -> str:
        value = os.environ.get(variable)
        if not value:
            raise self.error_type(
                f"{self.settings.source}: environment variable {variable} ({field}) is not set"
            )
        self._secrets.append(value)
        return value

    def basic_auth(self) -> tuple[str, str] | None:
        """(user, password) from the settings' environment variables, when basic auth is set."""
        s: HttpSourceSettings = self.settings
        if s.username_env is None or s.password_env is None:
            return None
        return self._env(s.username_env, "username_env"), self._env(s.password_env, "password_env")

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def error(self, where: str, cause: str) -> OpsledgerError:
        return self.error_type(self.redact(f"{self.settings.source}: {where}: {cause}"))

    def retrying(self, where: str, attempt_once: Callable[[], T]) -> T:
        """``attempt_once()``'s result, called again after each ``Retryable`` while retries last."""
        s: HttpSourceSettings = self.settings
        for attempt in range(s.retries + 1):
            try:
                return attempt_once()
            except Retryable as exc:
                cause, wait = exc.cause, exc.retry_after
            if attempt == s.retries:
                break
            delay = backoff_delay(attempt, s.backoff_s, s.backoff_max_s)
            if wait is not None:
                if wait > s.backoff_max_s:
                    cause += f"; server asked to retry after {wait:g} s (more than backoff_max_s)"
                    break
                delay = max(delay, wait)
            self.log.warning(
                "%s: %s; %s; retry %d of %d in %.2f s",
                s.source,
                self.redact(cause),
                where,
                attempt + 1,
                s.retries,
                delay,
            )
            self.retries_done += 1
            self._sleep(delay)
        raise self.error(where, f"{cause} (gave up after {attempt + 1} attempt(s))")
