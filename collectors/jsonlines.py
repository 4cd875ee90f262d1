"""Streaming JSON-lines reading shared by the log, audit and product-event collectors.

A file is read in byte blocks of whole lines (``BLOCK_BYTES``; a partial last line moves to
the next block). numpy finds the line breaks and the block becomes an Arrow array of string
views *into the block's own bytes* (no copy, line breaks left out), which an in-memory DuckDB
connection maps with one query per block: ``sql/collectors/map_<table>.sql`` validates every
line, reads the fields of every dialect and names the problem of each bad line in ``_reason``.
Python touches rejected lines only, so throughput stays near DuckDB's own ``read_json`` and
memory is bounded by a few blocks whatever the file size. While the caller stores one block's
chunks, worker threads read and map the next ones (DuckDB, Arrow and numpy release the GIL).

A mapping query reads ``lines(n, line)`` (``line`` is null when the bytes were not UTF-8) and
returns the contract columns plus ``_position`` (first line number of the row), ``_records``
(input lines the row holds), ``_reason`` (null = accepted), ``_raw`` (the text, for rejects) and
optionally ``_lines`` (line numbers of a row made of several lines) and ``_open`` (the row may
continue in the next block: its lines are mapped again with the next block).

A file whose first non-blank text is ``[``, or a ``{`` that does not close on its first line,
is read as JSON document(s) instead (an array of objects, or pretty-printed objects one after
another): DuckDB's ``read_json_objects`` splits it, one record per ``entry``. Such exports are
small (e.g. Kubernetes audit captures), so they are loaded whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from collectors.base import Chunk, FormatError, Reject
from opsledger.contract import SCHEMAS
from opsledger.sql import bind

BLOCK_BYTES = 32 << 20
SNIFF_BYTES = 64 << 10
# A file is "not JSON lines at all" when none of its first records is a JSON object.
SNIFF_RECORDS = 5
# An unfinished multi-line record may pull in more blocks, up to this many bytes, then it is cut.
MAX_CARRY_BYTES = 4 * BLOCK_BYTES
# No JSON line is this long; a file with one is not JSON lines (e.g. a binary file).
MAX_LINE_BYTES = 256 << 20
SCAN_BATCH_ROWS = 8192
NOT_A_RECORD = ("not valid UTF-8", "not valid JSON", "not a JSON object")
BOM = b"\xef\xbb\xbf"
_BINARY_LINES = pa.schema([("n", pa.int64()), ("line", pa.binary_view())])
_END = object()
T = TypeVar("T")

_SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "collectors"


def load_sql(name: str) -> str:
    """The text of ``sql/collectors/<name>.sql``."""
    return (_SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class JsonMapping:
    """How one collector turns JSON records into one contract table."""

    table: str
    query: str  # name of the per-block mapping SQL
    setup: tuple[str, ...] = ()  # SQL files run once per connection (temp macros)
    params: Mapping[str, object] = field(default_factory=dict)


def connect(mapping: JsonMapping) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={
            # rows are matched to lines by _position, so DuckDB need not keep their order (cheaper)
            "preserve_insertion_order": False,
            # every core: on the quiet 2-core benchmark machine this beat leaving one core to the
            # caller's Parquet writes (20.0 s vs 25.0 s for 2 GB), which overlap anyway
            "threads": os.cpu_count() or 2,
        }
    )
    con.execute(load_sql("jsonlines_setup"))
    for name in mapping.setup:
        con.execute(load_sql(name))
    return con


def read_json_records(
    path: Path | str,
    mapping: JsonMapping,
    *,
    source: str,
    chunk_rows: int = 50_000,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[Chunk]:
    """Yield contract chunks (at most ``chunk_rows`` rows each) for a JSON-lines file."""
    path = Path(path)
    query = load_sql(mapping.query)
    con = connect(mapping)
    try:
        kind = _sniff(path)
        if kind == "lines":
            label, blocks = "line", _mapped_blocks(con, mapping, query, source, path, block_bytes)
        else:
            label, blocks = "entry", _map_documents(con, mapping, query, source, path, kind)
        # the next block is read, mapped and cut into chunks while the caller stores this one's
        with closing(_ahead(_block_chunks(path, blocks, mapping, chunk_rows, label))) as chunk_lists:
            for chunks in chunk_lists:
                yield from chunks
    finally:
        con.close()


def _block_chunks(path, blocks, mapping, chunk_rows, label) -> Iterator[list[Chunk]]:
    sniffed = False
    with closing(blocks):
        for lines, result in blocks:
            if not sniffed and result.num_rows:
                sniffed = True
                _check_is_json(path, result, label)
            yield list(_chunks(result, lines, mapping, chunk_rows, label))


def _line_tables(path: Path, block_bytes: int) -> Iterator[tuple[pa.Table, bool]]:
    """Tables (n, line) of about ``block_bytes`` of whole lines each, and whether the file ends there."""
    with path.open("rb") as f:
        carry, next_n = b"", 1
        while True:
            # read straight into the block's own buffer: Arrow then reads it in place
            buf = bytearray(len(carry) + block_bytes)
            buf[: len(carry)] = carry
            start = len(carry)
            got = f.readinto(memoryview(buf)[start:])
            del buf[start + got :]
            eof = got < block_bytes
            cut = 0
            while not eof and not (cut := buf.rfind(b"\n", start) + 1):
                if len(buf) > MAX_LINE_BYTES:
                    raise FormatError(path, f"line {next_n} is longer than {MAX_LINE_BYTES:,} bytes")
                start = len(buf)  # a line longer than the block: read on until it ends
                more = f.read(block_bytes)
                eof = len(more) < block_bytes
                buf += more
            if eof:
                cut = len(buf)
            carry = bytes(buf[cut:])
            del buf[cut:]
            if next_n == 1 and buf.startswith(BOM):
                del buf[: len(BOM)]
            if buf:
                table = _lines_table(buf, next_n)
                next_n += table.num_rows
                yield table, eof
            if eof:
                return


def _lines_table(buf: bytearray, first_n: int) -> pa.Table:
    """The lines of ``buf`` as Arrow string views into it: no copy, line breaks left out."""
    data = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(data == 10) + 1
    if not len(ends) or ends[-1] != len(buf):
        ends = np.append(ends, len(buf))
    starts = np.concatenate(([0], ends[:-1]))
    lengths = ends - starts
    for byte in (10, 13):  # "\n", then the "\r" of "\r\n"
        lengths -= (lengths > 0) & (data[np.maximum(starts + lengths - 1, 0)] == byte)
    count = len(ends)
    numbers = np.arange(first_n, first_n + count, dtype=np.int64)
    n = pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(numbers)])
    views = pa.py_buffer(_views(data, starts, lengths))
    text = pa.Array.from_buffers(pa.string_view(), count, [None, views, pa.py_buffer(buf)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        text = pa.Array.from_buffers(pa.binary_view(), count, [None, views, pa.py_buffer(buf)])
    # record batches let DuckDB scan one block with all its threads
    lines = pa.table({"n": n, "line": text})
    return pa.Table.from_batches(lines.to_batches(max_chunksize=SCAN_BATCH_ROWS))


def _views(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Arrow's 16-byte string views: length, then the bytes inline (up to 12) or a 4-byte
    prefix, buffer 0 and the offset (https://arrow.apache.org/docs/format/Columnar.html)."""
    views = np.zeros((len(starts), 16), dtype=np.uint8)
    views[:, 0:4] = lengths.astype("<i4").view(np.uint8).reshape(-1, 4)
    long = lengths > 12
    first = starts[long]
    views[long, 4:8] = data[first[:, None] + np.arange(4)]
    views[long, 12:16] = first.astype("<i4").view(np.uint8).reshape(-1, 4)
    short = ~long
    at = starts[short][:, None] + np.arange(12)
    inline = data[np.minimum(at, len(data) - 1)]
    views[short, 4:16] = np.where(np.arange(12) < lengths[short][:, None], inline, 0)
    return views


def _mapped_blocks(con, mapping, query, source, path, block_bytes) -> Iterator[tuple[pa.Table, pa.Table]]:
    """(lines, result) per block; a record still open at a block's end moves to the next block."""
    held = None
    with closing(_ahead(_line_tables(path, block_bytes))) as tables:
        for table, eof in tables:
            lines = table if held is None else _concat(held, table)
            result = map_block(con, mapping, query, source, lines, eof or _held_too_big(held))
            held, result = _split_open(lines, result)
            yield lines, result
    if held is not None:
        yield held, map_block(con, mapping, query, source, held, True)


def _held_too_big(held: pa.Table | None) -> bool:
    """An open record may pull in more blocks, up to MAX_CARRY_BYTES; then it is cut there."""
    return held is not None and held.nbytes > MAX_CARRY_BYTES


def _concat(held: pa.Table, table: pa.Table) -> pa.Table:
    if held.schema != table.schema:
        held, table = held.cast(_BINARY_LINES), table.cast(_BINARY_LINES)
    return pa.concat_tables([held, table])


def _split_open(lines: pa.Table, result: pa.Table) -> tuple[pa.Table | None, pa.Table]:
    """The lines of a record the query marked open (``_open``), and the result without it."""
    if "_open" not in result.column_names or not pc.any(result["_open"]).as_py():
        return None, result
    hold = pc.min(pc.filter(result["_position"], result["_open"]))
    # line numbers are consecutive, so the held lines are the tail of the block
    held = lines.slice(hold.as_py() - lines["n"][0].as_py())
    return held, result.filter(pc.less(result["_position"], hold))


def _map_documents(con, mapping, query, source, path, kind) -> Iterator[tuple[pa.Table, pa.Table]]:
    try:
        params = {"path": str(path), "format": kind}
        docs = con.sql(load_sql("read_json_documents"), params=params).to_arrow_table()
    except duckdb.Error as exc:
        problem = str(exc).splitlines()[0]
        raise FormatError(path, f"not JSON lines and not a JSON document: {problem}") from None
    lines = pa.table({"n": pa.array(np.arange(1, docs.num_rows + 1, dtype=np.int64)), "line": docs["line"]})
    yield lines, map_block(con, mapping, query, source, lines, True)


def map_block(con, mapping, query, source, lines: pa.Table, eof: bool) -> pa.Table:
    """Map one block of lines (columns ``n``, ``line``) with the mapping's query; ``eof`` says that
    nothing follows, so no record is left open. Also used for documents from Elasticsearch."""
    binary = pa.types.is_binary_view(lines.schema.field("line").type)
    con.register("block_lines", lines)
    try:
        con.execute(load_sql("lines_bytes" if binary else "lines_utf8"))
        values = {"source": source, "at_eof": eof, **mapping.params}
        result = con.sql(query, params=bind(query, values)).to_arrow_table()
    finally:
        con.unregister("block_lines")
    return result


def _ahead(items: Iterator[T]) -> Iterator[T]:
    """Compute the next item in a worker thread while the caller works on the current one.

    Both DuckDB and Arrow release the GIL, so reading and mapping the next block overlaps the
    caller storing this one.
    """
    with ThreadPoolExecutor(1) as worker:
        upcoming = worker.submit(next, items, _END)
        try:
            while (item := upcoming.result()) is not _END:
                upcoming = worker.submit(next, items, _END)
                yield item
        finally:
            upcoming.exception()  # wait for the step in flight before closing the source
            items.close()


def _sniff(path: Path) -> str:
    """'lines', or the read_json_objects format of a whole-document JSON file."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    text = head.removeprefix(BOM).lstrip()
    if text.startswith(b"["):
        return "array"
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0]
        if len(first) < len(text) or len(head) < SNIFF_BYTES:
            try:
                json.loads(first)
            except ValueError:
                return "unstructured"
    return "lines"


def _check_is_json(path: Path, result: pa.Table, label: str) -> None:
    first = pc.select_k_unstable(result, SNIFF_RECORDS, [("_position", "ascending")])
    head = result.select(["_position", "_reason"]).take(first)
    reasons = head["_reason"].to_pylist()
    if all(reason in NOT_A_RECORD for reason in reasons):
        first = head["_position"][0].as_py()
        raise FormatError(path, f"not JSON lines ({label} {first}: {reasons[0]})")


def _chunks(result: pa.Table, lines: pa.Table, mapping, chunk_rows: int, label: str) -> Iterator[Chunk]:
    table = mapping.table
    schema = SCHEMAS[table]
    for start in range(0, result.num_rows, chunk_rows):
        part = result.slice(start, chunk_rows)
        if part["_reason"].null_count == part.num_rows:
            rows, rejects = part, []
        else:
            good = pc.is_null(part["_reason"])
            rows = part.filter(good)
            rejects = _rejects(part.filter(pc.invert(good)), lines, label)
        accepted = pc.sum(rows["_records"]).as_py() or 0
        rows = rows.select(schema.names).cast(schema)
        yield Chunk(tables={table: rows}, accepted=accepted, rejects=rejects)


def _rejects(bad: pa.Table, lines: pa.Table, label: str) -> list[Reject]:
    out: list[Reject] = []
    columns = ["_position", "_reason", "_raw"] + (["_lines"] if "_lines" in bad.column_names else [])
    for row in bad.select(columns).to_pylist():
        numbers = row.get("_lines") or [row["_position"]]
        raws = row["_raw"].split("\n") if len(numbers) > 1 else [row["_raw"]]
        for n, raw in zip(numbers, raws, strict=True):
            if raw is None:  # not UTF-8: show the bytes, escaped
                line = lines["line"][n - lines["n"][0].as_py()].as_py()
                raw = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
            out.append(Reject(position=f"{label} {n}", reason=row["_reason"], raw=raw or ""))
    return out
