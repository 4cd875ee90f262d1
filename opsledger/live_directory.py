"""Collect a live LDAP directory into the lake: one atomic, accounted batch per snapshot.

A snapshot is written as the batch kind ``directory`` with source ``ldap:<name>`` into the
partition of its snapshot day. The lake key includes that day, so one snapshot per source and
day is kept: a second run on the same day replaces the first (no duplicates), while earlier
days stay as history (``StagedWrite.commit`` drops a key's slices the new write lacks, so a
key shared across days would erase them). The watermark ``(ldap:<name>, directory)`` moves
to the snapshot time only after the lake commit: a failed or interrupted collection leaves the
previous data and watermark as they were, and records a failed batch in ``ingest_batches``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from collectors.ldap_live import LdapSettings, PageHook, snapshot
from opsledger import watermarks
from opsledger.ingest import BatchResult, ingest_chunks
from opsledger.live_days import day_key, utc

KIND = "directory"


def collect_directory(
    home: Path,
    settings: LdapSettings,
    *,
    snapshot_at: datetime | None = None,
    chunk_rows: int = 50_000,
    progress: Callable[[int], None] | None = None,
    on_page: PageHook | None = None,
) -> BatchResult:
    """Snapshot the directory into ``<home>/lake`` and advance its watermark; raises
    ``OpsledgerError`` (nothing stored, watermark unchanged) when the directory cannot be read."""
    at = utc(snapshot_at or datetime.now(UTC))
    result = ingest_chunks(
        home / "lake",
        KIND,
        settings.source,
        snapshot(settings, snapshot_at=at, chunk_rows=chunk_rows, on_page=on_page),
        label=f"{settings.source} ({settings.safe_url})",
        progress=progress,
        key=day_key(settings.source, KIND, at.date()),
    )
    watermarks.advance(home, settings.source, KIND, at)
    return result
