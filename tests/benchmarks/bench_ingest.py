"""Ingest benchmark: opsledger vs DuckDB's own JSON→Parquet COPY vs pandas, one large ECS log file.

Each contender runs in its own subprocess, one after the other, on the same generated file (see
``make_logs.py``), so its peak RSS is its own (``os.wait4`` returns that child's rusage). The
parent checks every output by reading the Parquet footers it wrote, prints a table and the
targets (opsledger ≥ 0.5× DuckDB, ≥ 3× pandas, peak RSS < 1.5 GiB) and exits 1 if one fails.

    tests/benchmarks/run.sh                 # 2 GiB file
    tests/benchmarks/run.sh --size-mb 200   # quick check
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_logs  # noqa: E402  (a sibling script, not a package)

MB = make_logs.MB
PEAK_LIMIT_MB = 1536
DUCKDB_FLOOR = 0.5
PANDAS_FACTOR = 3.0
PANDAS_CHUNK = 50_000
CONTENDERS = ("opsledger", "duckdb", "pandas")

# DuckDB's own path, selecting what opsledger maps into log_records; a row whose timestamp fails
# to parse is dropped, as ignore_errors turns bad lines and bad values into nulls.
DUCKDB_COPY = """
copy (
    select "@timestamp" as ts, service.name as service, service.environment as environment,
        log.level as level, message, log.logger as logger, trace.id as trace_id, span.id as span_id,
        user.id as user_id, labels.tenant_id as tenant_id, http.request.method as http_method,
        url.path as url_path, http.response.status_code as http_status,
        event.duration / 1e6 as duration_ms, 'bench' as source, cast("@timestamp" as date) as date
    from read_json(?, format = 'newline_delimited', ignore_errors = true, columns = {
        '@timestamp': 'timestamptz', 'message': 'varchar',
        'log': 'struct(level varchar, logger varchar)',
        'service': 'struct(name varchar, environment varchar)',
        'trace': 'struct(id varchar)', 'span': 'struct(id varchar)', 'user': 'struct(id varchar)',
        'labels': 'struct(tenant_id varchar)',
        'http': 'struct(request struct(method varchar), response struct(status_code integer))',
        'url': 'struct(path varchar)', 'event': 'struct(duration bigint)'})
    where "@timestamp" is not null
) to ? (format parquet, compression zstd, partition_by (date))
"""


def run_contender(name: str, path: Path, out: Path, limit_mb: int | None, profile: bool) -> dict:
    out.mkdir(parents=True)
    run = {"opsledger": _opsledger, "duckdb": _duckdb, "pandas": _pandas}[name]
    return run(path, out, limit_mb, profile)


def _opsledger(path: Path, out: Path, limit_mb: int | None, profile: bool) -> dict:
    import opsledger.ingest as ingest

    # Time the runner waits on the collector's generator, to tell parsing from writing (work a
    # collector does in a thread while the runner writes is not counted).
    spent = {"collector": 0.0}
    reader_for = ingest.reader_for

    def timed_reader(kind):
        read = reader_for(kind)

        def timed(*args, **kwargs):
            chunks = read(*args, **kwargs)
            while True:
                started = time.perf_counter()
                chunk = next(chunks, None)
                spent["collector"] += time.perf_counter() - started
                if chunk is None:
                    return
                yield chunk

        return timed

    ingest.reader_for = timed_reader
    started = time.perf_counter()
    if profile:
        profiler = cProfile.Profile()
        batch = profiler.runcall(ingest.ingest_file, out, "log_records", path, source="bench")
        profiler.dump_stats(out.parent / "opsledger.prof")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    else:
        batch = ingest.ingest_file(out, "log_records", path, source="bench")
    return {
        "seconds": time.perf_counter() - started,
        "bytes_read": path.stat().st_size,
        "rows_read": batch.rows_read,
        "rows_written": batch.rows_written,
        "rows_quarantined": batch.rows_quarantined,
        "collector_seconds": spent["collector"],
        "data_glob": "log_records/date=*/*.parquet",
        "quarantine_glob": "quarantine/date=*/*.parquet",
        "note": "under cProfile (slower); profile in the workdir" if profile else "",
    }


def _duckdb(path: Path, out: Path, limit_mb: int | None, profile: bool) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    started = time.perf_counter()
    (written,) = con.execute(DUCKDB_COPY, [str(path), str(out / "log_records")]).fetchall()[0]
    seconds = time.perf_counter() - started
    threads = con.execute("select current_setting('threads')").fetchall()[0][0]
    return {
        "seconds": seconds,
        "bytes_read": path.stat().st_size,
        "rows_written": written,
        "data_glob": "log_records/date=*/*.parquet",
        "note": f"{duckdb.__version__}, {threads} threads; lines with invalid JSON or a bad "
        "timestamp dropped (a bad status becomes null), nothing quarantined; no attributes JSON",
    }


def _pandas(path: Path, out: Path, limit_mb: int | None, profile: bool) -> dict:
    import pandas as pd

    limit = limit_mb * MB if limit_mb else float("inf")
    bytes_read = written = repaired = 0
    started = time.perf_counter()
    with open(path, "rb") as lines:
        for part in itertools.count():
            chunk = list(itertools.islice(lines, PANDAS_CHUNK))
            if not chunk or bytes_read >= limit:
                break
            text = b"".join(chunk).decode("utf-8", errors="replace")
            bytes_read += sum(map(len, chunk))
            try:
                frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
            except ValueError:
                # read_json has no ignore_errors: keep the lines the json module parses, read again.
                valid = "\n".join(filter(_parses, text.splitlines()))
                frame = pd.read_json(io.StringIO(valid), lines=True, dtype=False)
                repaired += 1
            rows = _flatten(pd, frame)
            rows.to_parquet(out / f"part-{part:05d}.parquet", compression="zstd", index=False)
            written += len(rows)
    return {
        "seconds": time.perf_counter() - started,
        "bytes_read": bytes_read,
        "rows_written": written,
        "data_glob": "*.parquet",
        "note": f"{pd.__version__}, chunks of {PANDAS_CHUNK:,} lines; {repaired} chunk(s) held invalid JSON "
        "and were re-read without it; bad lines dropped, nothing quarantined",
    }


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _flatten(pd, frame):
    def get(column, *keys):
        if column not in frame:
            return pd.Series([None] * len(frame), index=frame.index, dtype=object)
        return reduce(lambda series, key: series.str.get(key), keys, frame[column])

    status_raw = get("http", "response", "status_code")
    status = pd.to_numeric(status_raw, errors="coerce")
    rows = pd.DataFrame(
        {
            "ts": pd.to_datetime(frame["@timestamp"], utc=True, errors="coerce", format="ISO8601"),
            "service": get("service", "name"),
            "environment": get("service", "environment"),
            "level": get("log", "level"),
            "message": frame["message"],
            "logger": get("log", "logger"),
            "trace_id": get("trace", "id"),
            "span_id": get("span", "id"),
            "user_id": get("user", "id"),
            "tenant_id": get("labels", "tenant_id"),
            "http_method": get("http", "request", "method"),
            "url_path": get("url", "path"),
            "http_status": status.astype("Int32"),
            "duration_ms": pd.to_numeric(get("event", "duration"), errors="coerce") / 1e6,
            "source": "bench",
        }
    )
    return rows[rows["ts"].notna() & (status.notna() | status_raw.isna())]


def measure(name: str, path: Path, workdir: Path, limit_mb: int | None, profile: bool) -> dict:
    out = workdir / f"out-{name}"
    shutil.rmtree(out, ignore_errors=True)
    result_file = workdir / f"result-{name}.json"
    result_file.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--contender", name, "--input", str(path), "--out", str(out)]
    command += ["--result", str(result_file)]
    if limit_mb:
        command += ["--limit-mb", str(limit_mb)]
    if profile:
        command += ["--profile"]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(command)
    # wait4, not RUSAGE_CHILDREN: the latter is a maximum over every child waited for so far.
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{name}: benchmark process failed with exit code {child.returncode}")
    result = json.loads(result_file.read_text())
    result.update(
        name=name,
        wall_seconds=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        rows_in_output=_parquet_rows(out, result["data_glob"]),
    )
    if "quarantine_glob" in result:
        result["rows_in_quarantine"] = _parquet_rows(out, result["quarantine_glob"])
    return result


def _parquet_rows(folder: Path, pattern: str) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob(pattern))


def report(results: list[dict], meta: dict) -> bool:
    by_name = {r["name"]: r for r in results}
    ops = by_name.get("opsledger")
    print()
    print(
        f"{'contender':<11}{'MB':>8}{'rows':>11}{'seconds':>9}{'rows/s':>11}{'MB/s':>8}{'peak RSS MB':>13}"
        f"{'opsledger ×':>13}{'cpu s':>8}{'load':>11}"
    )
    for r in results:
        r["mb_per_s"] = r["bytes_read"] / MB / r["seconds"]
    for r in results:
        mb = r["bytes_read"] / MB
        ratio = f"{ops['mb_per_s'] / r['mb_per_s']:.2f}" if ops and "mb_per_s" in ops else "-"
        mark = "*" if r["bytes_read"] < meta["bytes"] else ""
        print(
            f"{r['name'] + mark:<11}{mb:>8.0f}{r['rows_in_output']:>11,}{r['seconds']:>9.1f}"
            f"{r['rows_in_output'] / r['seconds']:>11,.0f}{r['mb_per_s']:>8.1f}{r['peak_rss_mb']:>13.0f}"
            f"{ratio:>13}{r['cpu_seconds']:>8.0f}{r['load_before']:>5.1f}→{r['load_after']:<5.1f}"
        )
    for r in results:
        if r["bytes_read"] < meta["bytes"]:
            full = r["seconds"] * meta["bytes"] / r["bytes_read"]
            print(
                f"* {r['name']}: first {r['bytes_read'] / MB:.0f} MB only; throughput measured there, "
                f"the whole file would take ≈ {full:.0f} s"
            )
        if r.get("note"):
            print(f"  {r['name']}: {r['note']}")
    if ops and "collector_seconds" in ops:
        rest = ops["seconds"] - ops["collector_seconds"]
        print(
            f"  opsledger time: {ops['collector_seconds']:.1f} s waiting for the collector's next chunk "
            f"(read, parse, validate, map), {rest:.1f} s in the runner (zstd Parquet, quarantine, commit)"
        )
    return _targets(by_name, meta)


def _targets(by_name: dict[str, dict], meta: dict) -> bool:
    ops = by_name.get("opsledger")
    if not ops:
        return True
    checks = []
    if "duckdb" in by_name:
        ratio = ops["mb_per_s"] / by_name["duckdb"]["mb_per_s"]
        checks.append((f"opsledger ≥ {DUCKDB_FLOOR}× DuckDB COPY", f"{ratio:.2f}×", ratio >= DUCKDB_FLOOR))
    if "pandas" in by_name:
        ratio = ops["mb_per_s"] / by_name["pandas"]["mb_per_s"]
        checks.append((f"opsledger ≥ {PANDAS_FACTOR:g}× pandas", f"{ratio:.2f}×", ratio >= PANDAS_FACTOR))
    peak = ops["peak_rss_mb"]
    checks.append((f"opsledger peak RSS < {PEAK_LIMIT_MB} MB", f"{peak:.0f} MB", peak < PEAK_LIMIT_MB))
    balanced = (
        ops["rows_read"] == meta["lines"]
        and ops["rows_quarantined"] == meta["bad_lines"]
        and ops["rows_in_output"] == ops["rows_written"] == meta["lines"] - meta["bad_lines"]
        and ops["rows_in_quarantine"] == meta["bad_lines"]
    )
    seen = (
        f"read {ops['rows_read']:,} (file {meta['lines']:,}), quarantined {ops['rows_quarantined']:,} "
        f"(injected {meta['bad_lines']:,}), Parquet rows {ops['rows_in_output']:,}"
    )
    checks.append(("opsledger accounting matches the file", seen, balanced))
    print()
    for label, value, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")
    return all(ok for _, _, ok in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048, help="size of the generated file (MiB)")
    parser.add_argument("--workdir", type=Path, default=make_logs.DEFAULT_WORKDIR)
    parser.add_argument("--pandas-mb", type=int, default=256, help="pandas reads the first N MiB (0 = all)")
    parser.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated contenders to run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; the fastest is reported")
    parser.add_argument("--profile", action="store_true", help="run opsledger under cProfile (slower)")
    parser.add_argument("--keep-output", action="store_true", help="keep the Parquet each contender wrote")
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit-mb", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        result = run_contender(args.contender, args.input, args.out, args.limit_mb, args.profile)
        args.result.write_text(json.dumps(result))
        return

    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(CONTENDERS)
    if unknown:
        choices = ", ".join(CONTENDERS)
        raise SystemExit(f"unknown contender(s) {', '.join(sorted(unknown))}; choose from {choices}")
    started = time.perf_counter()
    path, meta = make_logs.ensure(args.size_mb, args.workdir)
    how = "reused" if meta["reused"] else f"generated in {time.perf_counter() - started:.0f} s"
    print(
        f"input: {path} ({meta['bytes'] / MB:.0f} MB, {meta['lines']:,} lines, {meta['bad_lines']:,} bad: "
        f"{meta['bad']}; {how})"
    )
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; contenders run one at a time")
    best: dict[str, dict] = {}
    # Rounds go through every contender in turn, so a burst of load elsewhere hits all of them alike.
    for round_ in range(1, args.repeat + 1):
        for name in names:
            limit = args.pandas_mb if name == "pandas" and args.pandas_mb else None
            print(f"round {round_}/{args.repeat}: {name} …", flush=True)
            run = measure(name, path, args.workdir, limit, args.profile and name == "opsledger")
            print(
                f"  {run['seconds']:.1f} s, {run['cpu_seconds']:.0f} cpu s, peak {run['peak_rss_mb']:.0f} MB"
            )
            if not args.keep_output:
                shutil.rmtree(args.workdir / f"out-{name}", ignore_errors=True)
            if name not in best or run["seconds"] < best[name]["seconds"]:
                run["peak_rss_mb"] = max(run["peak_rss_mb"], best.get(name, run)["peak_rss_mb"])
                best[name] = run
            else:
                best[name]["peak_rss_mb"] = max(best[name]["peak_rss_mb"], run["peak_rss_mb"])
    results = [best[name] for name in names]
    if args.repeat > 1:
        print(f"\nbest of {args.repeat} runs each (peak RSS: the highest of them)")
    ok = report(results, meta)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = args.workdir / f"ingest-results-{stamp}.json"
    saved.write_text(json.dumps({"input": str(path), "meta": meta, "results": results}, indent=2))
    print(f"\nfigures saved to {saved}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
