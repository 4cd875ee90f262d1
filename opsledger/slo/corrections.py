"""SLO corrections: a time range excluded from one SLO's SLI and error budget, retroactively,
with a reason and an author — recorded as an audit event, so the exclusion is itself evidence.

Semantics (as Sloth's, OpenSLO's and Nobl9's "corrections": the time is excluded from the SLO):

* A correction of SLO ``S`` over ``[from, to)`` removes every minute of ``S``'s facts that any
  part of the range touches (the rule of SLA maintenance windows): those minutes count neither
  good nor total events, in every group and objective of ``S``. Evaluations, daily history,
  replayed alerts, policy events and the marts read the facts, so all of them see the
  correction (``facts.build_facts`` applies it). For Occurrences the budget shrinks with the
  events. For Timeslices a slice without traffic would count as a good slice (Kibana's rule for
  empty slices), so a slice whose minutes are *all* corrected is also removed from the period's
  slice count (``corrected_slices``: the evaluation's ``period_slices`` and the policy's slice
  budget); a partly corrected slice is judged on its remaining minutes.
* SLA months of an SLA on ``S`` count the corrected minutes as excluded minutes, like agreed
  maintenance; ``sla.report_month`` lists them among the maintenance windows with source
  ``correction`` (a source no ``opsledger.yaml`` window can claim).
* The record is one ``audit_events`` row: action ``slo.correction``, actor = author, resource =
  the SLO, outcome ``success``, ``details`` = {correction_id, slo, from, to, reason}, source
  ``opsledger:corrections``. Only events of that action *and* source count: an application's own
  audit feed cannot exclude time from an SLO. It is written through the ingest runner (one
  atomic, accounted batch in ``ingest_batches``).
* Identity: a correction is its SLO, range and reason. Recording the same one again (whoever
  asks) writes nothing and returns the first record — its author and time stay on file. Each
  correction is its own lake slice (key from its id), so even a forced re-write would replace
  that slice rather than add a row.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from collectors.base import Chunk
from opsledger import lake, sql
from opsledger.contract import TS, table_from_pydict
from opsledger.errors import OpsledgerError
from opsledger.slo.periods import MINUTE, floor_minute, slice_count

ACTION = "slo.correction"
SOURCE = "opsledger:corrections"
TABLE = "audit_events"
RANGES_SCHEMA = pa.schema([("start", TS), ("end", TS)])


@dataclass(frozen=True)
class Correction:
    slo: str
    start: datetime
    end: datetime
    reason: str
    author: str
    recorded_at: datetime
    correction_id: str

    def as_row(self) -> dict:
        return {
            "slo": self.slo,
            "start": self.start,
            "end": self.end,
            "reason": self.reason,
            "author": self.author,
            "recorded_at": self.recorded_at,
            "correction_id": self.correction_id,
        }


def default_author() -> str:
    """``$USER``, else the login name; a correction always names who made it."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError:
        return "unknown"


def correction_id(slo: str, start: datetime, end: datetime, reason: str) -> str:
    text = "\0".join([slo, _iso(start), _iso(end), reason.strip()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_correction(
    lake_dir: Path,
    slo: str,
    start: datetime,
    end: datetime,
    reason: str,
    author: str | None = None,
    *,
    now: datetime | None = None,
) -> tuple[Correction, bool]:
    """Write the correction's audit event into the lake; (the correction, whether it is new).

    ``slo`` must already be a known SLO name (the CLI checks it against the configuration)."""
    start, end = _utc(start, "--from"), _utc(end, "--to")
    if end <= start:
        raise OpsledgerError(f"--to {_iso(end)} must be after --from {_iso(start)}")
    if not reason or not reason.strip():
        raise OpsledgerError("--reason must not be empty: say why the range is excluded")
    author = (author or default_author()).strip()
    if not author:
        raise OpsledgerError("--author must not be empty")
    reason = reason.strip()
    ident = correction_id(slo, start, end, reason)
    key = lake.source_key(TABLE, f"{SOURCE}#{ident}")
    existing = sorted((lake_dir / TABLE).glob(f"date=*/part-{key}.parquet"))
    if existing:
        row = pq.read_table(existing[0]).to_pylist()[0]
        return _from_event(row), False
    recorded = (now or datetime.now(UTC)).astimezone(UTC)
    details = {"correction_id": ident, "slo": slo, "from": _iso(start), "to": _iso(end), "reason": reason}
    rows = table_from_pydict(
        TABLE,
        {
            "ts": [recorded],
            "actor": [author],
            "action": [ACTION],
            "resource": [slo],
            "outcome": ["success"],
            "details": [json.dumps(details, sort_keys=True)],
            "source": [SOURCE],
        },
    )
    from opsledger.ingest import ingest_chunks  # the ingest runner pulls in every collector

    ingest_chunks(
        lake_dir, TABLE, SOURCE, [Chunk({TABLE: rows}, accepted=1)], label=f"correction of {slo}", key=key
    )
    return Correction(slo, start, end, reason, author, recorded, ident), True


# Corrections read once for a connection by ``read_once`` (by id: an entry lives only in its block).
_READ: dict[int, list[Correction]] = {}


@contextmanager
def read_once(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within the block, every lookup of corrections on ``con`` uses one read of ``audit_events``
    instead of scanning it for each SLO, objective and window (the marts, the CLI)."""
    if id(con) in _READ:
        yield
        return
    _READ[id(con)] = list_corrections(con)
    try:
        yield
    finally:
        del _READ[id(con)]


def list_corrections(con: duckdb.DuckDBPyConnection, slo: str | None = None) -> list[Correction]:
    """Corrections recorded in ``con``'s ``audit_events`` (none when it has no such table)."""
    read = _READ.get(id(con))
    if read is not None:
        return [c for c in read if slo is None or c.slo == slo]
    if not _has_table(con, TABLE):
        return []
    params = {"action": ACTION, "source": SOURCE, "slo": slo}
    table = con.sql(sql.load("slo/select_corrections"), params=params).to_arrow_table()
    table = table.cast(
        pa.schema(
            [("slo", pa.string()), ("start", TS), ("end", TS), ("reason", pa.string())]
            + [("author", pa.string()), ("recorded_at", TS), ("correction_id", pa.string())]
        )
    )
    return [Correction(**row) for row in table.to_pylist()]


def list_lake_corrections(lake_dir: Path, slo: str | None = None) -> list[Correction]:
    """The same, straight from the lake: what was recorded, whether or not the warehouse was rebuilt."""
    from opsledger.warehouse import refresh_view

    con = duckdb.connect()
    try:
        refresh_view(con, lake_dir, TABLE)
        return list_corrections(con, slo)
    finally:
        con.close()


def exclude_corrected(con: duckdb.DuckDBPyConnection, slo: str, facts: pa.Table) -> pa.Table:
    """``facts`` (any table with ``grp`` and ``minute``) without the minutes corrected for ``slo``."""
    ranges = correction_ranges(con, slo)
    if ranges.num_rows == 0 or facts.num_rows == 0:
        return facts
    kept = sql.arrow(
        con, "slo/exclude_corrected_minutes", slo_uncorrected_facts=facts, slo_correction_ranges=ranges
    )
    return kept.cast(facts.schema)


def correction_ranges(con: duckdb.DuckDBPyConnection, slo: str) -> pa.Table:
    found = list_corrections(con, slo)
    return pa.table({"start": [c.start for c in found], "end": [c.end for c in found]}, schema=RANGES_SCHEMA)


def corrected_spans(con: duckdb.DuckDBPyConnection, slo: str) -> list[tuple[datetime, datetime]]:
    """The minutes ``slo``'s corrections exclude, as disjoint [start, end) spans on minute bounds,
    oldest first: a range touching part of a minute takes all of it (as ``exclude_corrected``)."""
    spans = sorted((floor_minute(c.start), _ceil_minute(c.end)) for c in list_corrections(con, slo))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def corrected_slices(
    spans: list[tuple[datetime, datetime]], start: datetime, end: datetime, slice_window: timedelta
) -> int:
    """How many slices of the period [start, end) (``periods.slice_count``) lie wholly inside
    ``spans`` (disjoint, as ``corrected_spans``): the slices a correction removes from a
    Timeslices period."""
    count = slice_count(start, end, slice_window)
    removed = 0
    for span_start, span_end in spans:
        lo, hi = max(span_start, start), min(span_end, end)
        if hi <= lo:
            continue
        first = -((start - lo) // slice_window)  # the first slice starting at or after lo
        last = count - 1 if hi >= end else (hi - start) // slice_window - 1  # the last ending by hi
        removed += max(0, last - first + 1)
    return removed


def remaining_slices(
    spans: list[tuple[datetime, datetime]], start: datetime, end: datetime, slice_window: timedelta
) -> int:
    """The slices of the period [start, end) less those wholly inside corrected ``spans``: the slice
    count a Timeslices period is judged on."""
    return slice_count(start, end, slice_window) - corrected_slices(spans, start, end, slice_window)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # Registered Arrow tables and views both appear here; a bare test connection may have neither.
    query = "select count(*) from information_schema.tables where table_name = ?"
    return con.execute(query, [name]).fetchall()[0][0] > 0


def _from_event(row: dict) -> Correction:
    details = json.loads(row["details"])
    return Correction(
        slo=row["resource"],
        start=datetime.fromisoformat(details["from"]),
        end=datetime.fromisoformat(details["to"]),
        reason=details["reason"],
        author=row["actor"],
        recorded_at=row["ts"],
        correction_id=details["correction_id"],
    )


def _utc(moment: datetime, option: str) -> datetime:
    if moment.tzinfo is None:
        raise OpsledgerError(f"{option} {moment.isoformat()}: needs a time zone (or Z)")
    return moment.astimezone(UTC)


def _ceil_minute(moment: datetime) -> datetime:
    floor = floor_minute(moment)
    return floor if floor == moment else floor + MINUTE


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
