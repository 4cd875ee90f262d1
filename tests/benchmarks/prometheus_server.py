"""A private Prometheus (Debian's package) for the SLO benchmark: TSDB blocks backfilled with
``promtool`` once per generated data set, compacted once, then served from a copy on a free
127.0.0.1 port and stopped by PID."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout, for deploy.live
from deploy.live.servers import Prometheus, free_port  # noqa: E402


class PrometheusServer(Prometheus):
    """The shared local Prometheus (``deploy/live/servers.py``) on a free port over ``data_dir``,
    with what the benchmark reads from it: its peak RSS and its own metrics."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(free_port(), data_dir.parent, data_dir=data_dir)

    def start(self, timeout_s: float = 60.0) -> PrometheusServer:
        return super().start(timeout_s)

    def peak_rss_mb(self) -> float:
        """The server's own high-water RSS (it is not a child the benchmark's rusage sees)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def metric(self, name: str) -> float:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        found = re.search(rf"^{name} (\S+)$", text, re.M)
        return float(found.group(1)) if found else 0.0


def ensure_tsdb(folder: Path, log=print) -> Path:
    """``folder/tsdb``: the day files of ``folder/om`` as TSDB blocks, compacted as a long-running
    Prometheus would have them (backfilled 2-hour blocks are merged by the server's compactor,
    which runs a minute after start; querying 360 small blocks would be unfair to Prometheus)."""
    tsdb = folder / "tsdb"
    if (folder / "tsdb.ok").exists():
        return tsdb
    work = folder / "tsdb-build"
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(tsdb, ignore_errors=True)
    (work / "data").mkdir(parents=True)
    started = time.perf_counter()
    for day_file in sorted((folder / "om").glob("day-*.om")):
        subprocess.run(
            [
                "promtool",
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "-q",
                str(day_file),
                str(work / "data"),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    blocks = sum(1 for p in (work / "data").iterdir() if p.is_dir())
    log(f"  promtool: {blocks} blocks in {time.perf_counter() - started:.0f} s; compacting …")
    server = PrometheusServer(work / "data").start()
    try:
        deadline = time.monotonic() + 900
        stable_since, last = time.monotonic(), -1.0
        while time.monotonic() < deadline:
            time.sleep(2)
            loaded = server.metric("prometheus_tsdb_blocks_loaded")
            if loaded != last:
                stable_since, last = time.monotonic(), loaded
            triggered = server.metric("prometheus_tsdb_compactions_triggered_total")
            if triggered >= 1 and time.monotonic() - stable_since > 15:
                break
    finally:
        server.stop()
    log(f"  compacted to {int(last)} blocks ({time.perf_counter() - started:.0f} s in all)")
    (work / "data").rename(tsdb)
    shutil.rmtree(work, ignore_errors=True)
    (folder / "tsdb.ok").write_text("ok\n")
    return tsdb
