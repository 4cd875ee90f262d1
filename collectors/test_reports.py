"""Test reports → ``test_results``: Playwright JSON reporter output or JUnit XML, told apart by content.

One record = one test result row: one test, in one project, in one run. The two formats live in
``collectors.playwright_report`` and ``collectors.junit_xml``; this module detects which one a
file is (a JSON object → Playwright, an XML document → JUnit, whatever the extension) and holds
what both share.

Commit and branch are read from the first of these keys that is present (dotted = nested):

* commit: ``gitCommit.hash``, ``ci.commitHash``, ``commit_sha``, ``commitSha``, ``commit``,
  ``git.commit``, ``git_commit``, ``GIT_COMMIT``, ``revision``, ``sha``;
* branch: ``gitCommit.branch``, ``ci.branch``, ``branch``, ``git.branch``, ``git_branch``,
  ``GIT_BRANCH``, ``BRANCH_NAME``;

from Playwright's ``config.metadata`` (``captureGitInfo`` writes ``gitCommit`` and ``ci``), then a
top-level ``metadata``; from JUnit ``<properties>`` (innermost enclosing suite first). A flat
property name containing dots (``git.commit``) is matched as written.

``run_id`` and ``test_id`` are short SHA-256 hashes (:func:`stable_id`), so re-reading a file gives
the same ids; the parts each format hashes are documented in its module.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from collectors.base import Chunk, FormatError, Reject
from opsledger.contract import table_from_pydict

COMMIT_KEYS = (
    "gitCommit.hash",
    "ci.commitHash",
    "commit_sha",
    "commitSha",
    "commit",
    "git.commit",
    "git_commit",
    "GIT_COMMIT",
    "revision",
    "sha",
)
BRANCH_KEYS = (
    "gitCommit.branch",
    "ci.branch",
    "branch",
    "git.branch",
    "git_branch",
    "GIT_BRANCH",
    "BRANCH_NAME",
)
PROJECT_KEYS = ("project", "projectName", "project_name")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_ERROR_LINES = 5
_ERROR_CHARS = 1000


def read(
    path: Path, *, source: str, chunk_rows: int = 50_000, observed_at: datetime | None = None
) -> Iterator[Chunk]:
    path = Path(path)
    kind = detect(path)
    observed = as_utc(observed_at) if observed_at else datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    # Imported on use: both format modules import the shared helpers below from this module.
    if kind == "playwright":
        from collectors import playwright_report as module
    else:
        from collectors import junit_xml as module
    yield from module.read(path, source=source, chunk_rows=chunk_rows, observed_at=observed)


def detect(path: Path) -> str:
    """``playwright`` or ``junit``, from the first bytes of the file; FormatError for anything else."""
    try:
        with Path(path).open("rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        raise FormatError(path, "file does not exist") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read file ({exc.strerror or exc})") from None
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not start:
        raise FormatError(path, "file is empty: neither a Playwright JSON report nor JUnit XML")
    if start[:1] == b"{":
        return "playwright"
    if start[:1] == b"<":
        return "junit"
    preview = start[:40].decode("utf-8", "replace").splitlines()[0]
    raise FormatError(path, f"neither a Playwright JSON report nor JUnit XML (starts with {preview!r})")


class ResultRows:
    """Collects test_results rows and rejects, and hands out a Chunk every ``chunk_rows`` records."""

    def __init__(self, *, source: str, source_format: str, chunk_rows: int) -> None:
        self.source, self.source_format, self.chunk_rows = source, source_format, chunk_rows
        self._rows: list[dict] = []
        self._rejects: list[Reject] = []

    def add(self, **row) -> Chunk | None:
        self._rows.append(row)
        return self._full()

    def reject(self, position: str, reason: str, raw: str) -> Chunk | None:
        self._rejects.append(Reject(position, reason, raw))
        return self._full()

    def _full(self) -> Chunk | None:
        return self.flush() if len(self._rows) + len(self._rejects) >= self.chunk_rows else None

    def flush(self) -> Chunk | None:
        if not self._rows and not self._rejects:
            return None
        columns = {name: [row.get(name) for row in self._rows] for name in _COLUMNS}
        columns["source"] = [self.source] * len(self._rows)
        columns["source_format"] = [self.source_format] * len(self._rows)
        chunk = Chunk(
            tables={"test_results": table_from_pydict("test_results", columns)},
            accepted=len(self._rows),
            rejects=self._rejects,
        )
        self._rows, self._rejects = [], []
        return chunk


_COLUMNS = (
    "run_id",
    "run_started_at",
    "suite",
    "file",
    "test_id",
    "title",
    "project",
    "status",
    "outcome",
    "duration_ms",
    "retry",
    "error_message",
    "commit_sha",
    "branch",
)


def error_summary(text: str | None) -> str | None:
    """The first lines of an error (ANSI colour codes stripped), enough to cluster failures by."""
    if not text:
        return None
    lines = [line.rstrip() for line in _ANSI.sub("", text).strip().splitlines() if line.strip()]
    summary = "\n".join(lines[:_ERROR_LINES])
    return summary[:_ERROR_CHARS] or None


def stable_id(*parts: object) -> str:
    joined = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def lookup(mapping: Mapping | None, keys: tuple[str, ...]) -> str | None:
    """The first non-empty value among ``keys``; a dotted key is tried as written, then as a path."""
    if not isinstance(mapping, Mapping):
        return None
    for key in keys:
        value = mapping.get(key)
        if value is None and "." in key:
            value = mapping
            for part in key.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
        if value not in (None, "") and not isinstance(value, Mapping | list):
            return str(value)
    return None


def parse_time(text: object) -> datetime | None:
    """ISO 8601 (no zone → UTC) or RFC 2822 (mocha's ``Sat, 03 Dec 2022 23:10:07 GMT``); else None."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return as_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        pass
    try:
        return as_utc(email.utils.parsedate_to_datetime(text))
    except (TypeError, ValueError):
        return None


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
