"""OpenMetrics / Prometheus text exposition files → ``metric_samples``.

One record = one sample line; ``# HELP``/``# TYPE``/``# UNIT`` lines, other comments, blank lines
and ``# EOF`` are not records. Each sample becomes one row: ``metric`` = the sample name as
written (``http_requests_total``, ``…_bucket``, ``…_sum``), ``labels`` = unescaped labels (sorted by
name, as Prometheus orders them), ``value`` raw (counters are never reset-adjusted; NaN and ±Inf
kept), ``ts`` = the sample's own timestamp, else ``observed_at`` (default: the file's mtime).

The format is detected once per file: OpenMetrics if it ends in ``# EOF`` or its head has a
``# UNIT`` line, an OpenMetrics-only type, a counter family exposed as ``<name>_total`` or an
exemplar; otherwise the Prometheus 0.0.4 text format. That choice fixes the timestamp unit
(OpenMetrics: seconds, float; Prometheus: milliseconds, int) and the line grammar
(``collectors.openmetrics_parser``). Exemplars are parsed and validated but not stored: the
contract has no column for them, and they annotate a sample rather than being one.

A sample line is rejected (``Reject("line N", reason, raw)``) when it breaks the line grammar of
its format, repeats a label name, has a timestamp outside the years 1-9999, is a histogram bucket
or summary quantile without a numeric ``le``/``quantile``, follows ``# EOF``, or is the last line
of the file with no line feed (a truncated write). Family-level rules (grouping, ordering,
clashing names, counter/histogram value rules) are *not* applied here: they say how a family was
exposed, not whether a sample is true, and the warehouse must not lose samples over them;
``collectors.openmetrics_strict.parse_strict`` checks all of it. CRLF line ends and a UTF-8 BOM
are tolerated. ``FormatError``: an empty, binary, JSON or HTML file, or one whose first block has
neither a sample, nor a ``# HELP``/``# TYPE``/``# UNIT`` line, nor a line shaped like a sample.

Speed: blocks of lines go through one RE2 ``extract_regex`` (pyarrow) for the common shape —
single-spaced, labels without escapes — and label sets are parsed once per distinct label text;
only lines that do not fit (comments, escapes, exemplars, errors) take the per-line parser.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from collectors.base import Chunk, FormatError, Reject
from collectors.openmetrics_parser import (
    LABEL_NAME,
    MAX_US,
    METRIC_NAME,
    MIN_US,
    NUMBER,
    LineError,
    parse_sample_line,
    timestamp_us,
    type_check,
)
from opsledger.contract import SCHEMAS

BLOCK_BYTES = 4 << 20
MAX_LINE_BYTES = 16 << 20
TABLE = "metric_samples"
LABELS = SCHEMAS[TABLE].field("labels").type

_NAME = METRIC_NAME.pattern
_PAIR = LABEL_NAME.pattern + r'="[^"\\\n]*"'
_BODY = rf"(?:{_PAIR}(?:,{_PAIR})*)?"
_FAST = {
    True: rf"^(?P<name>{_NAME})(?:\{{(?P<labels>{_BODY})\}})? (?P<value>[^ \r\n]+)"
    rf"(?: (?P<ts>[^ \r\n]+))?\r?\n$",
    False: rf"^[ \t]*(?P<name>{_NAME})(?:\{{(?P<labels>{_BODY})\}})?[ \t]+(?P<value>[^ \t\r\n]+)"
    rf"(?:[ \t]+(?P<ts>[^ \t\r\n]+))?[ \t]*\r?\n$",
}
# Timestamps the vectorized path converts itself; anything else (exponents, '+') goes per line.
_FAST_TS = {True: r"^-?[0-9]{1,12}(?:\.[0-9]*)?$", False: r"^-?[0-9]{1,15}$"}
_FAST_NUMBER = rf"^(?:{NUMBER.pattern})$"
_PAIRS = re.compile(rf'({LABEL_NAME.pattern})="([^"]*)"')
_META = re.compile(rf"#[ \t]+(HELP|TYPE|UNIT)(?:[ \t]+({_NAME})(?:[ \t]+(.*))?)?")
# What a broken sample line still looks like: "name{…} value [ts]", or any token and then a number.
# Prose ("This file should be ignored.") has neither shape.
_SHAPE = re.compile(
    rf"[ \t]*{_NAME}(?:\{{.*\}})?[ \t]*[^ \t]+(?:[ \t]+[^ \t]+)?[ \t]*"
    rf"|[ \t]*\S+[ \t]+(?:{NUMBER.pattern})(?:[ \t].*)?"
)
_JSON = re.compile(r"\[|\{\s*(?:\"|\}|$)")
_EOF_TAIL = re.compile(rb"(?:^|\n)# EOF(?:\r?\n)?$")
_OM_HEAD = re.compile(r"^# UNIT |^# TYPE \S+ (?:gaugehistogram|stateset|info|unknown)[ \t]*$| # \{", re.M)
_OM_COUNTER = re.compile(rf"^# TYPE ({_NAME}) counter[ \t]*$", re.M)


def read(
    path: Path, *, source: str, chunk_rows: int = 50_000, observed_at: datetime | None = None
) -> Iterator[Chunk]:
    """Yield ``metric_samples`` chunks of at most ``chunk_rows`` records from one exposition file."""
    path = Path(path)
    if observed_at is None:
        observed_us = path.stat().st_mtime_ns // 1000
    else:
        aware = observed_at if observed_at.tzinfo else observed_at.replace(tzinfo=UTC)
        observed_us = (aware - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    with path.open("rb") as handle:
        blocks = _blocks(path, handle)
        first = next(blocks, b"")
        openmetrics = _detect(path, first, handle)
        parser = _BlockParser(openmetrics, source, observed_us)
        chunker = _Chunker(chunk_rows)
        table, lines, rejects = parser.parse(first)
        if not table.num_rows and not parser.metadata_seen and not parser.shaped:
            first_problem = f" (line {rejects[0][0]}: {rejects[0][1].reason})" if rejects else ""
            raise FormatError(path, f"no metric samples or # HELP/# TYPE lines{first_problem}")
        yield from chunker.add(table, lines, rejects)
        for block in blocks:
            yield from chunker.add(*parser.parse(block))
    yield from chunker.flush()


def _blocks(path: Path, handle) -> Iterator[bytes]:
    """Whole lines in blocks of about BLOCK_BYTES; the last block may lack its final line feed."""
    carry = b""
    while data := handle.read(BLOCK_BYTES):
        buffer = carry + data
        cut = buffer.rfind(b"\n") + 1
        if not cut and len(buffer) > MAX_LINE_BYTES:
            raise FormatError(path, f"a line longer than {MAX_LINE_BYTES >> 20} MiB: not metrics text")
        carry = buffer[cut:]
        if cut:
            yield buffer[:cut]
    if carry:
        yield carry


def _detect(path: Path, head: bytes, handle) -> bool:
    """True for OpenMetrics, False for the Prometheus text format; FormatError if neither."""
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(head[:65536], final=False)
    # A stray bad byte is one rejected line; this many means the file is not text at all.
    if (text.count("\ufffd") + text.count("\x00")) * 20 > len(text):
        raise FormatError(path, "not UTF-8 text (binary or compressed file?)")
    if not text.strip():
        raise FormatError(path, "empty file: no metric samples")
    first = text.lstrip("\ufeff \t\r\n").split("\n", 1)[0]
    if first.startswith("<") or _JSON.match(first):
        kind = "HTML/XML" if first.startswith("<") else "JSON"
        raise FormatError(path, f"looks like {kind}, not OpenMetrics/Prometheus text")
    position = handle.tell()
    handle.seek(max(0, handle.seek(0, 2) - 64))
    tail = handle.read()
    handle.seek(position)
    # "# EOF" may be followed by a stray line (invalid, and rejected as "after # EOF").
    if _EOF_TAIL.search(tail) or re.search(rb"\n# EOF\r?\n[^\n]*$", tail) or _OM_HEAD.search(text):
        return True
    return any(re.search(rf"^{re.escape(name)}_total[{{ ]", text, re.M) for name in _OM_COUNTER.findall(text))


def _split(block: bytes) -> pa.LargeStringArray:
    """Lines of a UTF-8 block as one Arrow array without copying; each keeps its line feed."""
    ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 10) + 1
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    return pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(block))


def _samples_table(names, labels, values, ts_us, source: str) -> pa.Table:
    ts = pa.array(ts_us, pa.int64()).view(SCHEMAS[TABLE].field("ts").type)
    sources = pa.nulls(len(ts), pa.string()).fill_null(source)
    return pa.Table.from_arrays([ts, names, labels, values, sources], schema=SCHEMAS[TABLE])


class _BlockParser:
    """Parses blocks of whole lines in file order, keeping the little state that spans blocks."""

    def __init__(self, openmetrics: bool, source: str, observed_us: int) -> None:
        self.openmetrics, self.source, self.observed_us = openmetrics, source, observed_us
        self.types: dict[str, str] = {}
        self.eof_line: int | None = None
        self.metadata_seen = False
        self.shaped = False  # some line at least looked like "name value": metrics with errors
        self.next_line = 1
        self.label_cache: dict[str, list[tuple[str, str]] | None] = {}

    def parse(self, block: bytes) -> tuple[pa.Table, np.ndarray, list[tuple[int, Reject]]]:
        first_line, rejects, rows = self.next_line, [], []
        if first_line == 1 and block.startswith(codecs.BOM_UTF8):
            block = block[3:]
        lines = _split(self._utf8(block, first_line, rejects))
        self.next_line += len(lines)
        fields = pc.extract_regex(lines, _FAST[self.openmetrics])
        value, ts = fields.field("value"), fields.field("ts")
        has_ts = pc.greater(pc.binary_length(ts), 0)
        fast = pc.and_(fields.is_valid(), pc.match_substring_regex(value, _FAST_NUMBER))
        fast = pc.and_(
            fast, pc.or_(pc.invert(has_ts), pc.match_substring_regex(ts, _FAST_TS[self.openmetrics]))
        )
        fast = fast.to_numpy(zero_copy_only=False)
        slow = np.flatnonzero(~fast)
        for index, text in zip(slow.tolist(), lines.take(slow).to_pylist(), strict=True):
            self._line(text, first_line + index, rows, rejects)
        if fast.all():
            fast_rows = np.arange(len(lines))
        else:
            fast_rows = np.flatnonzero(fast)
            fields, has_ts = fields.filter(fast), has_ts.filter(fast)
        table, demoted = self._fast_table(fields, has_ts, first_line + fast_rows)
        lines_of_rows = first_line + fast_rows[~demoted]
        for index, text in zip(
            fast_rows[demoted].tolist(), lines.take(fast_rows[demoted]).to_pylist(), strict=True
        ):
            self._line(text, first_line + index, rows, rejects)
        if rows:
            line_numbers, names, labels, values, ts_us = zip(*rows, strict=True)
            slow_table = _samples_table(
                pa.array(names, pa.string()),
                pa.array(labels, LABELS),
                pa.array(values, pa.float64()),
                ts_us,
                self.source,
            )
            table = pa.concat_tables([table, slow_table])
            lines_of_rows = np.concatenate([lines_of_rows, np.asarray(line_numbers, np.int64)])
            order = np.argsort(lines_of_rows, kind="stable")
            table, lines_of_rows = table.take(order), lines_of_rows[order]
        return table, lines_of_rows, sorted(rejects, key=lambda item: item[0])

    def _fast_table(self, fields: pa.StructArray, has_ts: pa.Array, line_numbers: np.ndarray):
        """Rows for lines of the common shape, and which of them need the per-line parser after all."""
        names, values = fields.field("name").cast(pa.string()), pc.cast(fields.field("value"), pa.float64())
        stamps = pc.if_else(has_ts, fields.field("ts"), "0")
        if self.openmetrics:
            # round(seconds * 1e6) in float64, exactly what timestamp_us() does for the slow lines.
            micros = pc.round(pc.multiply(pc.cast(stamps, pa.float64()), 1e6))
            low, high = float(MIN_US), float(MAX_US)
        else:
            micros, low, high = pc.multiply(pc.cast(stamps, pa.int64()), 1000), MIN_US, MAX_US
        out_of_range = pc.and_(has_ts, pc.or_(pc.less(micros, low), pc.greater(micros, high)))
        ts_us = pc.if_else(has_ts, pc.cast(pc.if_else(out_of_range, 0, micros), pa.int64()), self.observed_us)
        bodies = fields.field("labels").cast(pa.string()).dictionary_encode()
        parsed = [self._labels(body) for body in bodies.dictionary.to_pylist()]
        body_index = bodies.indices.to_numpy()
        bad = np.asarray([pairs is None for pairs, _ in parsed], bool)[body_index]
        bad |= out_of_range.to_numpy(zero_copy_only=False)
        bad |= self._type_problems(names, body_index, parsed)
        if self.eof_line is not None:
            bad |= line_numbers > self.eof_line
        labels = pa.array([pairs or [] for pairs, _ in parsed], LABELS).take(bodies.indices)
        table = _samples_table(names, labels, values, ts_us, self.source)
        if bad.any():
            table = table.filter(pa.array(~bad))
        self.shaped = self.shaped or len(names) > 0
        return table, bad

    def _labels(self, body: str) -> tuple[list[tuple[str, str]] | None, dict[str, str]]:
        if body not in self.label_cache:
            if len(self.label_cache) > 100_000:
                self.label_cache.clear()
            pairs = _PAIRS.findall(body)
            names = {name for name, _ in pairs}
            valid = len(names) == len(pairs) and "__name__" not in names
            self.label_cache[body] = sorted(pairs) if valid else None
        pairs = self.label_cache[body]
        return pairs, dict(pairs or ())

    def _type_problems(self, names: pa.Array, body_index: np.ndarray, parsed) -> np.ndarray:
        """Buckets without a numeric ``le``, summary quantiles without a numeric ``quantile``."""
        encoded = names.dictionary_encode()
        distinct = encoded.dictionary.to_pylist()
        checked = [self._typed(name) for name in distinct]
        if not any(checked):
            return np.zeros(len(names), bool)
        name_index = encoded.indices.to_numpy().astype(np.int64)
        combos = name_index * len(parsed) + body_index
        candidates = np.asarray(checked, bool)[name_index]
        failing = [
            combo
            for combo in np.unique(combos[candidates]).tolist()
            if type_check(distinct[combo // len(parsed)], parsed[combo % len(parsed)][1], self.types)
        ]
        return candidates & np.isin(combos, failing)

    def _typed(self, name: str) -> bool:
        histogram = name.endswith("_bucket") and self.types.get(name[:-7]) in ("histogram", "gaugehistogram")
        return histogram or self.types.get(name) == "summary"

    def _utf8(self, block: bytes, first_line: int, rejects: list) -> bytes:
        try:
            block.decode("utf-8")
            return block
        except UnicodeDecodeError:
            parts = block.split(b"\n")
        for index, part in enumerate(parts):
            try:
                part.decode("utf-8")
            except UnicodeDecodeError:
                line = first_line + index
                rejects.append(
                    (line, Reject(f"line {line}", "line: not valid UTF-8", part.decode("utf-8", "replace")))
                )
                parts[index] = b""  # an empty line is no record; the reject above accounts for it
        return b"\n".join(parts)

    def _line(self, text: str, line: int, rows: list, rejects: list) -> None:
        raw = text.removesuffix("\n").removesuffix("\r")
        stripped = raw.strip(" \t")
        if not stripped:
            return
        if stripped.startswith("#"):
            self._comment(stripped, line)
            return
        try:
            if self.eof_line is not None and line > self.eof_line:
                raise LineError(f"sample after '# EOF' (line {self.eof_line})")
            sample = parse_sample_line(raw, openmetrics=self.openmetrics)
            problem = type_check(sample.name, sample.labels, self.types)
            if problem:
                raise LineError(problem)
            ts = self.observed_us
            if sample.timestamp is not None:
                ts = timestamp_us(sample.timestamp, openmetrics=self.openmetrics)
            if not text.endswith("\n"):
                raise LineError("line: no line feed at the end of the file (truncated write?)")
        except LineError as error:
            reason = str(error)
            if reason.startswith("timestamp: not an integer number of milliseconds"):
                reason += "; the file has no '# EOF', so it is read as Prometheus text"
            self.shaped = self.shaped or bool(_SHAPE.fullmatch(raw))
            rejects.append((line, Reject(f"line {line}", reason, raw)))
        else:  # sample.exemplar is dropped here: metric_samples has no column for exemplars
            rows.append((line, sample.name, sorted(sample.labels.items()), sample.value, ts))

    def _comment(self, text: str, line: int) -> None:
        if self.openmetrics and text == "# EOF":
            self.eof_line = self.eof_line or line
            self.metadata_seen = True
        elif match := _META.match(text):
            self.metadata_seen = True
            if match[1] == "TYPE" and match[2] and match[3]:
                self.types[match[2]] = match[3].strip().lower().replace("gauge_histogram", "gaugehistogram")


class _Chunker:
    """Regroups per-block rows and rejects into chunks of at most ``chunk_rows`` records, in file order."""

    def __init__(self, chunk_rows: int) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.chunk_rows = chunk_rows
        self.tables: list[pa.Table] = []
        self.rejects: list[Reject] = []
        self.count = 0
        self.emitted = False

    def add(self, table: pa.Table, lines: np.ndarray, rejects: list[tuple[int, Reject]]) -> Iterator[Chunk]:
        reject_lines = np.asarray([line for line, _ in rejects], np.int64)
        records = np.sort(np.concatenate([lines, reject_lines]))
        start = row = rej = 0
        while start < len(records):
            take = min(self.chunk_rows - self.count, len(records) - start)
            last = records[start + take - 1]
            row_end = int(np.searchsorted(lines, last, "right"))
            rej_end = int(np.searchsorted(reject_lines, last, "right"))
            self.tables.append(table.slice(row, row_end - row))
            self.rejects.extend(reject for _, reject in rejects[rej:rej_end])
            self.count += take
            start, row, rej = start + take, row_end, rej_end
            if self.count == self.chunk_rows:
                yield self._emit()

    def flush(self) -> Iterator[Chunk]:
        if self.count or not self.emitted:
            yield self._emit()

    def _emit(self) -> Chunk:
        table = (
            pa.concat_tables(self.tables).combine_chunks() if self.tables else SCHEMAS[TABLE].empty_table()
        )
        chunk = Chunk(tables={TABLE: table}, accepted=table.num_rows, rejects=self.rejects)
        self.tables, self.rejects, self.count, self.emitted = [], [], 0, True
        return chunk
