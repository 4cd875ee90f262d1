"""Product events from JSON lines (or a JSON array / document): PostHog's export shape.

``{"timestamp", "distinct_id", "event", "properties": {...}}``, with ``ts``/``@timestamp`` and
``user_id`` accepted too; ``session_id`` and ``tenant_id`` come from the top level or from
``properties.$session_id`` / ``properties.tenant_id``. ``properties`` keeps the event's
properties object as is (what funnel breakdowns read, e.g. ``properties->>'$browser'``), plus
any other top-level key no column holds (``uuid``, ``elements_chain``, ...); on a name clash the
property wins. An event without a timestamp, an event name or a distinct_id is rejected: a
funnel cannot place, name or attribute it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from collectors.base import Chunk
from collectors.jsonlines import JsonMapping, read_json_records

MAPPING = JsonMapping(table="product_events", query="map_product_events", setup=("product_events_setup",))


def read(
    path: Path, *, source: str, chunk_rows: int = 50_000, observed_at: datetime | None = None
) -> Iterator[Chunk]:
    # observed_at is not used: every event must carry its own time (see module docstring)
    return read_json_records(path, MAPPING, source=source, chunk_rows=chunk_rows)
