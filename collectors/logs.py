"""Log records from JSON-lines files: ECS, structlog, python-json-logger and docker json-file.

The dialect is recognised per line, from the fields it carries (nested ECS objects and their
dotted spellings alike); the mapping is ``sql/collectors/map_log_records.sql``, after
``assemble_docker_records.sql`` has joined a block's docker lines into records. ``attributes``
holds the full original document, so nothing a line carried is lost; for docker lines it is the
record as fluent-bit's Docker_Mode + Merge_Log would emit it: split fragments joined into one
``log`` and, when ``log`` is itself a JSON object, its keys merged in (the docker keys win there,
the application's keys win for the columns: its own time, message and level).

Docker lines are recognised as the json-file driver writes them, starting ``{"log":"``. A record
is one non-blank line, except docker fragments: a ``log`` value without its trailing
newline continues on the next docker line (Docker splits lines longer than 16 KiB), and with
``docker_firstline`` (a regex, like fluent-bit's ``Docker_Mode_Parser``) lines that do not match
it are appended to the record the last matching line opened. Such a row counts every input line
it holds in ``Chunk.accepted``, so a chunk can hold fewer rows than it accepted lines.

A line without a timestamp is rejected ("field 'ts': missing"): a log line cannot be placed in
time by the file's mtime, so ``observed_at`` is not used here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from collectors.base import Chunk
from collectors.jsonlines import Assembly, JsonMapping, read_json_records


def mapping(docker_firstline: str | None = None) -> JsonMapping:
    return JsonMapping(
        table="log_records",
        query="map_log_records",
        setup=("log_records_setup",),
        params={"firstline": docker_firstline},
        line_column="attributes",
        # docker's json-file lines start {"log":"..."; fragments of one line are joined first
        assembly=Assembly(table="docker_records", query="assemble_docker_records", prefix=b'{"lo'),
    )


def read(
    path: Path,
    *,
    source: str,
    chunk_rows: int = 50_000,
    observed_at: datetime | None = None,
    docker_firstline: str | None = None,
) -> Iterator[Chunk]:
    """``docker_firstline``: a regex on docker ``log`` values that starts a record (see above)."""
    return read_json_records(path, mapping(docker_firstline), source=source, chunk_rows=chunk_rows)
