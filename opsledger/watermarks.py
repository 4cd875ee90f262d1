"""Per-(source, target) watermarks of the live collectors: how far collection is complete.

A watermark only moves after the data up to it is committed to the lake, so a failed or
interrupted collection resumes from the last complete point and a re-run of a range replaces
(never duplicates) its partitions. Stored as one small JSON file per (source, target) under
``$OPSLEDGER_HOME/state/watermarks/``, written atomically (temp file, then rename).
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path


def _path(home: Path, source: str, target: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{source}--{target}")
    return home / "state" / "watermarks" / f"{safe}.json"


def get(home: Path, source: str, target: str) -> datetime | None:
    path = _path(home, source, target)
    if not path.exists():
        return None
    return datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["watermark"])


def advance(home: Path, source: str, target: str, to: datetime) -> None:
    """Set the watermark to ``to`` (a timezone-aware UTC time); never moves it backwards."""
    if to.tzinfo is None:
        raise ValueError("watermarks are timezone-aware UTC times")
    current = get(home, source, target)
    if current is not None and current >= to:
        return
    path = _path(home, source, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps({"source": source, "target": target, "watermark": to.isoformat()}), encoding="utf-8"
    )
    os.replace(tmp, path)
