"""Streaming JSON-lines reading shared by the log, audit and product-event collectors.

A file is read in byte blocks of whole lines (``BLOCK_BYTES``; a partial last line moves to
the next block). numpy finds the line breaks and the block becomes an Arrow array of string
views *into the block's own bytes* (no copy, line breaks left out), which an in-memory DuckDB
connection maps with one query per block: ``sql/collectors/map_<table>.sql`` validates every
line, reads the fields of every dialect and names the problem of each bad line in ``_reason``.
Python touches rejected lines only (about half of DuckDB's own ``read_json`` → Parquet
throughput, while validating every line and keeping each document: tests/benchmarks/README.md),
and memory is bounded by a few blocks whatever the file size. While the caller stores one block's
chunks, worker threads read and map the next ones (DuckDB, Arrow and numpy release the GIL).

A mapping query reads ``lines(n, line)`` (``line`` is null when the bytes were not UTF-8) and
returns the contract columns plus ``_position`` (first line number of the row), ``_records``
(input lines the row holds), ``_reason`` (null = accepted), ``_raw`` (the text, for rejects) and
optionally ``_lines`` (line numbers of a row made of several lines) and ``_open`` (the row may
continue in the next block: its lines are mapped again with the next block). The column that
keeps the whole record (``JsonMapping.line_column``) is left null where it is the record's own
line: the line is then taken from the block as it is, which spares DuckDB a copy of every
document into its result.

A file whose first non-blank text is ``[``, or a ``{`` that does not close on its first line,
is read as JSON document(s) instead (an array of objects, or pretty-printed objects one after
another): DuckDB's ``read_json_objects`` splits it, one record per ``entry``. Such exports are
small (e.g. Kubernetes audit captures), so they are loaded whole.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from collectors.base import Chunk, FormatError, Reject
from opsledger import sql
from opsledger.buffers import as_arrow, numbers
from opsledger.contract import SCHEMAS

BLOCK_BYTES = 32 << 20
SNIFF_BYTES = 64 << 10
# A file is "not JSON lines at all" when none of its first records is a JSON object.
SNIFF_RECORDS = 5
# An unfinished multi-line record may pull in more blocks, up to this many bytes, then it is cut.
MAX_CARRY_BYTES = 4 * BLOCK_BYTES
# No JSON line is this long; a file with one is not JSON lines (e.g. a binary file).
MAX_LINE_BYTES = 256 << 20
SCAN_BATCH_ROWS = 8192
# Room in a block buffer for the partial line carried over from the block before (a longer one
# gets a buffer of its own), and how many block buffers a file keeps for reuse.
CARRY_ROOM = 256 << 10
KEPT_BUFFERS = 4
# Up to this many rejects in a block are cut out of its rows by slicing (see _without).
MAX_SLICED_REJECTS = 256
NOT_A_RECORD = ("not valid UTF-8", "not valid JSON", "not a JSON object")
BOM = b"\xef\xbb\xbf"
_BINARY_LINES = pa.schema([("n", pa.int64()), ("line", pa.binary_view())])
_END = object()
T = TypeVar("T")


@dataclass(frozen=True)
class Assembly:
    """Records made of several lines, put together before the mapping query runs: ``query`` reads
    the block's ``lines`` and its result is the mapping's table ``table``. It runs only for blocks
    with a line starting with ``prefix`` (4 bytes); other blocks get an empty ``table``."""

    table: str
    query: str
    prefix: bytes


@dataclass(frozen=True)
class JsonMapping:
    """How one collector turns JSON records into one contract table."""

    table: str
    query: str  # name of the per-block mapping SQL
    setup: tuple[str, ...] = ()  # SQL files run once per connection (temp macros)
    params: Mapping[str, object] = field(default_factory=dict)
    # the column holding the whole record, which the query leaves null where that is the line itself
    line_column: str | None = None
    assembly: Assembly | None = None


class BlockMapper:
    """One mapping's queries on their own in-memory DuckDB connection, run block after block."""

    def __init__(self, mapping: JsonMapping, source: str) -> None:
        self.mapping = mapping
        self.values = {"source": source, **mapping.params}
        self.con = duckdb.connect(
            config={
                # rows are matched to lines by _position, so DuckDB need not keep their order (cheaper)
                "preserve_insertion_order": False,
                # every core: on the quiet 2-core benchmark machine this beat leaving one core to the
                # caller's Parquet writes (20.0 s vs 25.0 s for 2 GB), which overlap anyway
                "threads": os.cpu_count() or 2,
            }
        )
        self.con.execute(sql.load("collectors/jsonlines_setup"))
        for name in mapping.setup:
            self.con.execute(sql.load(f"collectors/{name}"))
        self._relations: dict[tuple[str, bool], duckdb.DuckDBPyRelation] = {}
        self._no_assembled: pa.Table | None = None

    def close(self) -> None:
        self.con.close()

    def map(self, lines: pa.Table, eof: bool) -> pa.Table:
        """Map one block of lines (columns ``n``, ``line``); ``eof`` says that nothing follows, so no
        record is left open. Also used for documents from Elasticsearch. The mapping's
        ``line_column`` is still null where it is the line: ``split`` fills it in."""
        binary = pa.types.is_binary_view(lines.schema.field("line").type)
        assembly = self.mapping.assembly
        self.con.register("block_lines", lines)
        try:
            self.con.execute(sql.load("collectors/lines_bytes" if binary else "collectors/lines_utf8"))
            if assembly is not None:
                self.con.register(assembly.table, self._assembled(assembly, lines, eof))
            return self._relation(self.mapping.query, eof).to_arrow_table()
        finally:
            self.con.unregister("block_lines")
            if assembly is not None:
                self.con.unregister(assembly.table)

    def _assembled(self, assembly: Assembly, lines: pa.Table, eof: bool) -> pa.Table:
        # Planning the assembly is a third of planning the whole mapping (9 of 25 ms a block), and
        # most files have no such lines: it runs only where a line could need it.
        if self._no_assembled is not None and not _may_start_with(lines["line"], assembly.prefix):
            return self._no_assembled
        assembled = self._relation(assembly.query, eof).to_arrow_table()
        if self._no_assembled is None:
            self._no_assembled = assembled.slice(0, 0)
        return assembled

    def split(self, result: pa.Table, lines: pa.Table) -> tuple[pa.Table, int, pa.Table]:
        """The accepted rows of a mapped block in the contract's schema, how many input records they
        hold, and the rejected rows."""
        rejected = pc.is_valid(result["_reason"])
        good, bad = _without(result, rejected), result.filter(rejected)
        column = self.mapping.line_column
        if column is not None and good[column].null_count:
            at = good.schema.get_field_index(column)
            good = good.set_column(at, column, _own_lines(good, lines, column))
        schema = SCHEMAS[self.mapping.table]
        return good.select(schema.names).cast(schema), pc.sum(good["_records"]).as_py() or 0, bad

    def _relation(self, name: str, eof: bool) -> duckdb.DuckDBPyRelation:
        # A relation runs its statement again each time it is read, over the block registered then.
        # Kept per file, it spares binding the statement twice for every block (~12 ms of 36).
        if (name, eof) not in self._relations:
            query = sql.load(f"collectors/{name}")
            values = {**self.values, "at_eof": eof}
            self._relations[name, eof] = self.con.sql(query, params=sql.bind(query, values))
        return self._relations[name, eof]


def _may_start_with(lines: pa.ChunkedArray, prefix: bytes) -> bool:
    """Whether a line may start with the 4 bytes ``prefix``. String views hold every line's first
    4 bytes in the view itself, so this reads 16 bytes a line; other arrays are not looked at."""
    word = int.from_bytes(prefix, "little")
    for chunk in lines.chunks:
        if not (pa.types.is_string_view(chunk.type) or pa.types.is_binary_view(chunk.type)):
            return True
        views = np.frombuffer(chunk.buffers()[1], dtype="<u4").reshape(-1, 4)
        if (views[chunk.offset : chunk.offset + len(chunk), 1] == word).any():
            return True
    return False


def _without(table: pa.Table, rows: pa.ChunkedArray) -> pa.Table:
    """``table`` without the ``rows`` marked true. A few rejects in a block are cut out by slicing
    around them, which copies nothing; Arrow's filter would copy every string of the block."""
    marked = pc.indices_nonzero(rows)
    if len(marked) > MAX_SLICED_REJECTS:
        return table.filter(pc.invert(rows))
    cuts = [-1, *marked.to_pylist(), table.num_rows]
    return pa.concat_tables([table.slice(a + 1, b - a - 1) for a, b in pairwise(cuts)])


def _own_lines(rows: pa.Table, lines: pa.Table, column: str) -> pa.Array:
    """``rows[column]``, its nulls replaced by the line at the row's position (accepted rows only:
    a block with lines that are not UTF-8 comes as bytes, which are then all valid text)."""
    at = numbers(rows["_position"], np.int64) - lines["n"][0].as_py()
    own = _take(lines["line"].combine_chunks(), at)
    kept = rows[column]
    if kept.null_count < len(kept):
        own = pc.if_else(pc.is_null(kept), own, kept.cast(own.type))
    return own


def _take(values: pa.Array, at: np.ndarray) -> pa.Array:
    """``values[at]``, string views made plain strings (or bytes) in the one copy of their text:
    Arrow's take and filter do not handle views, so the views are gathered here."""
    if not pa.types.is_binary_view(values.type) and not pa.types.is_string_view(values.type):
        return values.take(as_arrow(at, pa.int64()))
    plain = pa.string() if pa.types.is_string_view(values.type) else pa.binary()
    if values.null_count:
        return _take(values.cast(plain), at)
    _, views, *data = values.buffers()
    structs = np.frombuffer(views, dtype=np.uint64).reshape(-1, 2)
    taken = structs[values.offset : values.offset + len(values)][at]
    return pa.Array.from_buffers(values.type, len(at), [None, pa.py_buffer(taken), *data]).cast(plain)


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
    mapper = BlockMapper(mapping, source)
    try:
        kind = _sniff(path)
        if kind == "lines":
            label, blocks = "line", _mapped_blocks(mapper, path, block_bytes)
        else:
            label, blocks = "entry", _map_documents(mapper, path, kind)
        # the next block is read, mapped and cut into chunks while the caller stores this one's
        with closing(_ahead(_block_chunks(path, blocks, mapper, chunk_rows, label))) as chunk_lists:
            for chunks in chunk_lists:
                yield from chunks
    finally:
        mapper.close()


def _block_chunks(path, blocks, mapper, chunk_rows, label) -> Iterator[list[Chunk]]:
    sniffed = False
    with closing(blocks):
        for lines, result in blocks:
            if not sniffed and result.num_rows:
                sniffed = True
                _check_is_json(path, result, label)
            yield list(_chunks(mapper, result, lines, chunk_rows, label))


class _BlockBuffers:
    """The read buffers of one file, each used again once no Arrow array refers to it any more.

    A fresh 32 MiB buffer per block costs a zero-fill and a page fault (the kernel zeroing the
    page) for every 4 KiB, twice over with the newline scan's scratch array: measured at ~5 % of
    the whole ingest's CPU time.
    """

    def __init__(self, block_bytes: int) -> None:
        self.size = block_bytes + CARRY_ROOM
        self._kept: list[bytearray] = []
        self._newlines = np.empty(0, dtype=bool)

    def take(self, size: int) -> bytearray:
        for buf in self._kept:
            # referred to only by the list and this loop: no block reads it any more
            if sys.getrefcount(buf) == _UNREFERENCED and len(buf) >= size:
                return buf
        buf = bytearray(max(size, self.size))
        if len(self._kept) < KEPT_BUFFERS and len(buf) == self.size:
            self._kept.append(buf)
        return buf

    def newlines(self, data: np.ndarray) -> np.ndarray:
        """Where ``data`` holds a line feed, using one scratch array for the comparison."""
        if len(self._newlines) < len(data):
            self._newlines = np.empty(len(data), dtype=bool)
        return np.flatnonzero(np.equal(data, 10, out=self._newlines[: len(data)]))


def _refs_of_a_free_buffer() -> int:
    """What getrefcount says in _BlockBuffers.take of a buffer nothing else refers to (measured in
    the same loop, so it holds whatever the interpreter counts)."""
    for buf in [bytearray(1)]:
        return sys.getrefcount(buf)
    raise AssertionError("unreachable")


_UNREFERENCED = _refs_of_a_free_buffer()


def _line_tables(path: Path, block_bytes: int) -> Iterator[tuple[pa.Table, bool]]:
    """Tables (n, line) of about ``block_bytes`` of whole lines each, and whether the file ends there."""
    buffers = _BlockBuffers(block_bytes)
    with path.open("rb") as f:
        carry, next_n = b"", 1
        while True:
            # read straight into the block's own buffer: Arrow then reads it in place
            buf = buffers.take(len(carry) + block_bytes)
            buf[: len(carry)] = carry
            start = len(carry)
            got = f.readinto(memoryview(buf)[start : start + block_bytes])
            end = start + got
            eof = got < block_bytes
            cut = 0
            while not eof and not (cut := buf.rfind(b"\n", start, end) + 1):
                if end > MAX_LINE_BYTES:
                    raise FormatError(path, f"line {next_n} is longer than {MAX_LINE_BYTES:,} bytes")
                more = f.read(block_bytes)  # a line longer than the block: read on until it ends
                eof = len(more) < block_bytes
                buf = buf[:end] + more
                start, end = end, end + len(more)
            if eof:
                cut = end
            carry = bytes(buf[cut:end])
            first = len(BOM) if next_n == 1 and buf[: min(end, len(BOM))] == BOM else 0
            if cut > first:
                table = _lines_table(memoryview(buf)[first:cut], next_n, buffers)
                next_n += table.num_rows
                yield table, eof
            if eof:
                return


def _lines_table(block: memoryview, first_n: int, buffers: _BlockBuffers) -> pa.Table:
    """The lines of ``block`` as Arrow string views into it: no copy, line breaks left out."""
    data = np.frombuffer(block, dtype=np.uint8)
    ends = buffers.newlines(data) + 1
    if not len(ends) or ends[-1] != len(data):
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1]))
    lengths = ends - starts
    for byte in (10, 13):  # "\n", then the "\r" of "\r\n"
        lengths -= (lengths > 0) & (data[np.maximum(starts + lengths - 1, 0)] == byte)
    count = len(ends)
    n = as_arrow(np.arange(first_n, first_n + count, dtype=np.int64), pa.int64())
    views = pa.py_buffer(_views(data, starts, lengths))
    text = pa.Array.from_buffers(pa.string_view(), count, [None, views, pa.py_buffer(block)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        text = pa.Array.from_buffers(pa.binary_view(), count, [None, views, pa.py_buffer(block)])
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


def _mapped_blocks(mapper: BlockMapper, path: Path, block_bytes: int) -> Iterator[tuple[pa.Table, pa.Table]]:
    """(lines, result) per block; a record still open at a block's end moves to the next block."""
    held = None
    with closing(_ahead(_line_tables(path, block_bytes))) as tables:
        for table, eof in tables:
            lines = table if held is None else _concat(held, table)
            result = mapper.map(lines, eof or _held_too_big(held))
            held, result = _split_open(lines, result)
            yield lines, result
    if held is not None:
        yield held, mapper.map(held, True)


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


def _map_documents(mapper: BlockMapper, path: Path, kind: str) -> Iterator[tuple[pa.Table, pa.Table]]:
    try:
        params = {"path": str(path), "format": kind}
        docs = mapper.con.sql(sql.load("collectors/read_json_documents"), params=params).to_arrow_table()
    except duckdb.Error as exc:
        problem = str(exc).splitlines()[0]
        raise FormatError(path, f"not JSON lines and not a JSON document: {problem}") from None
    lines = pa.table(
        {"n": as_arrow(np.arange(1, docs.num_rows + 1, dtype=np.int64), pa.int64()), "line": docs["line"]}
    )
    yield lines, mapper.map(lines, True)


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


def _chunks(
    mapper: BlockMapper, result: pa.Table, lines: pa.Table, chunk_rows: int, label: str
) -> Iterator[Chunk]:
    table = mapper.mapping.table
    for start in range(0, result.num_rows, chunk_rows):
        rows, accepted, bad = mapper.split(result.slice(start, chunk_rows), lines)
        rejects = _rejects(bad, lines, label) if bad.num_rows else []
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
