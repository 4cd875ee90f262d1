"""Audit events from JSON: generic audit lines and Kubernetes audit events (audit.k8s.io).

Generic lines carry ``ts``/``@timestamp``/``timestamp``, ``actor``/``user``, ``action``,
``resource``/``target``, ``outcome``/``result`` (normalised to success / failure / error),
``tenant_id``, ``session_id``, ``source_ip``/``ip`` and ``user_agent``. A Kubernetes ``Event`` is
recognised by its ``apiVersion`` (``audit.k8s.io/…``) or, for captures without one, by
``kind: Event`` with an ``auditID``; it maps as: ts = ``stageTimestamp`` (else
``requestReceivedTimestamp``), actor = ``user.username``, action = ``verb``, resource =
``resource/namespace/name/subresource`` of ``objectRef`` (absent parts left out, so a
cluster-scoped object is ``namespaces/foo``), outcome from ``responseStatus.code`` (< 400
success, 401/403 failure, else error; none while a request is only received), source_ip =
``sourceIPs[0]``, session_id = ``auditID``, user_agent = ``userAgent``.

``details`` holds the full original event. A record without a timestamp or an action is
rejected (an audit trail entry that cannot be placed or says nothing is not evidence), and so is
an outcome word that is none of the known ones, rather than guessing.

Besides JSON lines, a file may be one JSON document or an array of them, pretty-printed or not
(how Kubernetes audit captures are usually shared): such files are loaded whole, one record per
``entry``, which is fine for their size.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from collectors.base import Chunk
from collectors.jsonlines import JsonMapping, read_json_records

MAPPING = JsonMapping(
    table="audit_events", query="map_audit_events", setup=("audit_events_setup",), line_column="details"
)


def read(
    path: Path, *, source: str, chunk_rows: int = 50_000, observed_at: datetime | None = None
) -> Iterator[Chunk]:
    # observed_at is not used: every audit event must carry its own time (see module docstring)
    return read_json_records(path, MAPPING, source=source, chunk_rows=chunk_rows)
