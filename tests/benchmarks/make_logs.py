"""Generate a large ECS JSON-lines log file for the ingest benchmark, fast and deterministically.

Lines are assembled column-wise with pyarrow string kernels (no per-line Python), in blocks of
``BLOCK_ROWS``, and the block's contiguous UTF-8 buffer is written straight to disk. About 0.1 %
of lines are bad in the three ways a real ingest must quarantine: not valid JSON (truncated),
an unparseable ``@timestamp``, a non-integer ``http.response.status_code``. A ``.meta.json``
sidecar records the counts, so the benchmark can check each contender's accounting, and lets a
second run reuse the file instead of generating it again.

    python tests/benchmarks/make_logs.py --size-mb 2048 --workdir /tmp/opsledger-bench
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

VERSION = 1  # bump when the line shape changes, so stale files are regenerated
BLOCK_ROWS = 250_000
BAD_FRACTION = 0.001
START = datetime(2026, 10, 1, tzinfo=UTC)
SPAN_MS = 30 * 86_400_000
MB = 1 << 20
DEFAULT_WORKDIR = Path("/tmp/opsledger-bench")

SERVICES = ["frontend", "catalog", "cart", "checkout", "payments", "auth"]
TENANTS = ["acme", "globex", "initech"]
METHODS = ["GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH"]
PATHS = ["/api/products/", "/api/cart/", "/api/orders/", "/api/users/", "/api/payments/", "/api/search/"]
# Status and level go together (5xx lines are errors), so the weights live in one table.
STATUS = [(200, "info", 0.80), (201, "info", 0.05), (204, "debug", 0.03), (304, "debug", 0.02),
          (400, "warn", 0.03), (401, "warn", 0.02), (404, "warn", 0.02), (429, "warn", 0.01),
          (500, "error", 0.01), (503, "error", 0.01)]  # fmt: skip
MESSAGES = {
    "info": "request completed",
    "debug": "served from cache",
    "warn": "client error",
    "error": "upstream failed: connection reset by peer",
}
BAD_TIMESTAMPS = ["yesterday", "2026-13-45T99:00:00Z", "", "1696118400000x"]
BAD_STATUSES = ['"abc"', '"OK"', '"2xx"', "true"]


def ensure(size_mb: int, workdir: Path = DEFAULT_WORKDIR, seed: int = 7) -> tuple[Path, dict]:
    """The log file of ``size_mb`` and its meta, generated unless an identical one is already there."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"ecs-logs-{size_mb}mb-s{seed}-v{VERSION}.jsonl"
    meta_path = path.with_suffix(".meta.json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("bytes") == path.stat().st_size:
            meta["reused"] = True
            return path, meta
    meta = generate(path, size_mb * MB, seed)
    meta_path.write_text(json.dumps(meta, indent=2))
    meta["reused"] = False
    return path, meta


def generate(path: Path, target_bytes: int, seed: int) -> dict:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    tmp = path.with_name(f".{path.name}.tmp")
    written = lines = 0
    bad = {"invalid_json": 0, "bad_timestamp": 0, "bad_status": 0}
    probe, _ = _block(np.random.default_rng(seed + 1), 0, 20_000, 1)
    # Rows needed for the size, from a probe's mean line length, so timestamps span ~30 days.
    mean_line = _nbytes(probe) / len(probe)
    total_rows = int(target_bytes / mean_line) + 1
    with open(tmp, "wb") as out:
        while written < target_bytes:
            n = int((target_bytes - written) / (written / lines if lines else mean_line)) + 1
            block, kinds = _block(rng, lines, max(1, min(BLOCK_ROWS, n)), total_rows)
            for kind, count in kinds.items():
                bad[kind] += count
            offsets = block.buffers()[1]
            start, end = np.frombuffer(offsets, dtype=np.int32)[[block.offset, block.offset + len(block)]]
            out.write(memoryview(block.buffers()[2])[start:end])
            written += int(end - start)
            lines += len(block)
    os.replace(tmp, path)
    return {
        "version": VERSION,
        "seed": seed,
        "bytes": written,
        "lines": lines,
        "bad_lines": sum(bad.values()),
        "bad": bad,
        "first_ts": START.isoformat(),
        "span_days": 30,
        "generated_seconds": round(time.perf_counter() - started, 1),
    }


def _nbytes(block: pa.Array) -> int:
    return int(pc.sum(pc.binary_length(block)).as_py())


def _pick(rng: np.random.Generator, values: list[str], n: int, p=None) -> pa.Array:
    return pa.array(values).take(pa.array(rng.choice(len(values), size=n, p=p)))


def _hex(rng: np.random.Generator, n: int, nbytes: int) -> pa.Array:
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    text = np.empty((n, nbytes * 2), dtype=np.uint8)
    text[:, 0::2] = digits[raw >> 4]
    text[:, 1::2] = digits[raw & 15]
    offsets = np.arange(n + 1, dtype=np.int32) * (nbytes * 2)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text.tobytes()))


def _block(rng: np.random.Generator, first: int, n: int, total_rows: int) -> tuple[pa.Array, dict[str, int]]:
    """Lines ``first … first+n-1`` of a file of about ``total_rows`` lines, each ending in a newline."""
    row = np.arange(first, first + n, dtype=np.int64)
    ms = int(START.timestamp()) * 1000 + row * SPAN_MS // total_rows + rng.integers(0, 1000, n)
    ts = pc.strftime(pa.array(ms.astype("datetime64[ms]")), format="%Y-%m-%dT%H:%M:%SZ")

    status_i = rng.choice(len(STATUS), size=n, p=[s[2] for s in STATUS])
    status = pa.array([str(s[0]) for s in STATUS]).take(pa.array(status_i))
    level = pa.array([s[1] for s in STATUS]).take(pa.array(status_i))
    message_of = pa.array([MESSAGES[s[1]] for s in STATUS]).take(pa.array(status_i))
    method = _pick(rng, METHODS, n)
    item = pa.array(rng.integers(1, 100_000, n)).cast(pa.string())
    url = pc.binary_join_element_wise(_pick(rng, PATHS, n), item, "")
    duration_ns = pa.array((rng.lognormal(3.0, 1.0, n) * 1e6).astype(np.int64)).cast(pa.string())
    uid = pc.utf8_lpad(pa.array(rng.integers(0, 5000, n)).cast(pa.string()), 5, "0")
    user = pc.if_else(
        pa.array(rng.random(n) < 0.7), pc.binary_join_element_wise('"user":{"id":"u', uid, '"},', ""), ""
    )

    # A bad line is drawn only after the first 1000 lines: a reader may sniff the head for the format.
    kind = np.where((rng.random(n) < BAD_FRACTION) & (row >= 1000), rng.integers(1, 4, n), 0)
    bad_ts, bad_status = pa.array(kind == 2), pa.array(kind == 3)
    ts = pc.if_else(bad_ts, _pick(rng, BAD_TIMESTAMPS, n), ts)
    status_json = pc.if_else(bad_status, _pick(rng, BAD_STATUSES, n), status)

    parts = [
        '{"@timestamp":"', ts, '","log":{"level":"', level, '","logger":"app.http"},"message":"',
        method, " ", url, " ", status, " ", message_of, '","service":{"name":"', _pick(rng, SERVICES, n),
        '","environment":"production"},"trace":{"id":"', _hex(rng, n, 16), '"},"span":{"id":"',
        _hex(rng, n, 8), '"},', user, '"labels":{"tenant_id":"', _pick(rng, TENANTS, n),
        '"},"http":{"request":{"method":"', method, '"},"response":{"status_code":', status_json,
        '}},"url":{"path":"', url, '"},"event":{"duration":', duration_ns, '},"ecs":{"version":"8.11.0"}}',
    ]  # fmt: skip
    line = pc.binary_join_element_wise(*parts, "")
    # Invalid JSON the way it happens in practice: a line cut off mid-write.
    cut = pc.utf8_slice_codeunits(line, 0, 90)
    line = pc.if_else(pa.array(kind == 1), cut, line)
    line = pc.binary_join_element_wise(line, "\n", "")
    counts = {"invalid_json": int((kind == 1).sum()), "bad_timestamp": int((kind == 2).sum())}
    counts["bad_status"] = int((kind == 3).sum())
    return line, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    path, meta = ensure(args.size_mb, args.workdir, args.seed)
    print(path)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
