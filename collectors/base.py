"""What every file collector yields: contract-shaped Arrow chunks plus rejected records.

A collector is a plain generator ``read(path, *, source, chunk_rows) -> Iterator[Chunk]``.
It never writes anything: the ingest runner (``opsledger.ingest``) stages the chunks into
the lake and commits them atomically, so a collector that raises half-way leaves the
previous state of the lake untouched.

Accounting: every input record (a line, a sample line, an LDIF entry, a test result) is
either *accepted* (stored in ``tables``) or *rejected* (sent to quarantine with a reason
and its position), so ``rows_read = accepted + len(rejects)`` for every chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa


class FormatError(ValueError):
    """The file is not in the collector's format at all (one clear error, nothing stored)."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass(frozen=True)
class Reject:
    """An input record that cannot be stored: where it was, why, and its raw text."""

    position: str  # e.g. "line 12", "entry 3", "testcase 7"
    reason: str  # names the field and the problem, e.g. "field '@timestamp': not a timestamp"
    raw: str


@dataclass
class Chunk:
    """A bounded slice of one input: rows per contract table, plus what was rejected."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    accepted: int = 0  # input records stored by this chunk
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.accepted + len(self.rejects)


class Collector(Protocol):
    def __call__(self, path: Path, *, source: str, chunk_rows: int = ...) -> Iterator[Chunk]: ...
