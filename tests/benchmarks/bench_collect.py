"""Live-collection benchmark: Prometheus query_range and an LDAP snapshot, against real local servers.

(a) ``--series`` counters sampled every minute for ``--days`` days are backfilled into a local
Prometheus; opsledger's ``collect_metrics`` (requests, parsing, Arrow, zstd Parquet, the batch
commit) is timed beside a plain ``requests`` loop over ``query_range`` with the same chunks (one
request per UTC day and query window, just fetching and ``json`` parsing). Both must count every
sample. (b) ``--users`` users and ``--groups`` groups are loaded into slapd with ``ldapadd``;
opsledger's ``collect_directory`` is timed beside a plain ldap3 paged search of the same entries.

    tests/benchmarks/run.sh collect                              # 200 series × 30 days, 10,000 users
    tests/benchmarks/run.sh collect --series 20 --days 3 --users 500 --groups 25   # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from deploy.live.servers import Prometheus, Slapd, backfill, free_port  # noqa: E402

START = datetime(2026, 9, 1, tzinfo=UTC)
QUERY = "bench_requests_total"
BASE_DN = "dc=bench,dc=example"
READER_DN = f"cn=reader,{BASE_DN}"
PASSWORD_ENV = "OPSLEDGER_BENCH_LDAP_PASSWORD"
GROUPS_PER_USER = 3


def write_openmetrics(folder: Path, series: int, days: int, seed: int = 7) -> list[Path]:
    """One OpenMetrics file per UTC day (promtool re-reads its whole input for every 2-hour block,
    so day files keep the backfill linear); counters continue across days, samples on the minute."""
    rng = np.random.default_rng(seed)
    per_day = 24 * 60
    counts = np.cumsum(rng.integers(0, 50, size=(series, days * per_day)), axis=1)
    labels = [f'{QUERY}{{instance="host-{i:03d}",code="200"}} ' for i in range(series)]
    paths = []
    folder.mkdir(parents=True, exist_ok=True)
    for day in range(days):
        first = int(START.timestamp()) + day * 86_400
        frame = pl.DataFrame(
            {
                "series": np.repeat(np.arange(series), per_day),
                "value": counts[:, day * per_day : (day + 1) * per_day].ravel(),
                "ts": np.tile(first + 60 * np.arange(per_day), series),
            }
        ).select(
            pl.concat_str(
                [
                    pl.col("series").replace_strict(range(series), labels, return_dtype=pl.String),
                    pl.col("value").cast(pl.String),
                    pl.lit(" "),
                    pl.col("ts").cast(pl.String),
                ]
            ).alias("line")
        )
        path = folder / f"day-{day:03d}.om"
        with path.open("w", encoding="utf-8") as out:
            out.write("# TYPE bench_requests counter\n")
            out.write("\n".join(frame["line"].to_list()))
            out.write("\n# EOF\n")
        paths.append(path)
    return paths


def prometheus_blocks(workdir: Path, series: int, days: int) -> Path:
    """TSDB blocks for this size, built once and reused by later runs."""
    folder = workdir / f"prometheus-{series}x{days}d"
    blocks = folder / "blocks"
    if (folder / "done").exists():
        return blocks
    shutil.rmtree(folder, ignore_errors=True)
    began = time.perf_counter()
    files = write_openmetrics(folder / "openmetrics", series, days)
    print(f"  generated {series * days * 1440:,} samples in {time.perf_counter() - began:.1f} s", flush=True)
    began = time.perf_counter()
    backfill(files, blocks)
    print(f"  promtool backfill in {time.perf_counter() - began:.1f} s", flush=True)
    shutil.rmtree(folder / "openmetrics")
    (folder / "done").touch()
    return blocks


def plain_requests(url: str, days: int) -> dict:
    """The baseline: the chunks collect_metrics asks for (each UTC day, split at 11,000 points),
    fetched with requests and parsed with json, samples counted; nothing stored."""
    import requests

    from collectors.prometheus_live import MAX_POINTS, to_ms, windows

    began = time.perf_counter()
    fetched = 0
    with requests.Session() as session:
        for day in range(days):
            day_start = START + timedelta(days=day)
            for first, last in windows(
                to_ms(day_start), to_ms(day_start + timedelta(days=1)), 60_000, MAX_POINTS
            ):
                params = {"query": QUERY, "start": first / 1000, "end": last / 1000, "step": 60}
                answer = session.get(f"{url}/api/v1/query_range", params=params, timeout=120)
                answer.raise_for_status()
                fetched += sum(len(s["values"]) for s in answer.json()["data"]["result"])
    return {"seconds": time.perf_counter() - began, "samples": fetched}


def bench_prometheus(workdir: Path, series: int, days: int, repeat: int) -> dict:
    from collectors.prometheus_live import PrometheusSettings
    from opsledger.live_metrics import collect_metrics
    from opsledger.settings import Settings

    blocks = prometheus_blocks(workdir, series, days)
    run = Path(tempfile.mkdtemp(prefix="prom-", dir=workdir))
    shutil.copytree(blocks, run / "data")
    server = Prometheus(free_port(), run, data_dir=run / "data").start(timeout_s=300)
    end = START + timedelta(days=days)
    settings = PrometheusSettings(name="bench", url=server.url, queries=[{"query": QUERY, "step": "60s"}])
    expected = series * days * 1440
    results = {"opsledger": [], "requests": []}
    try:
        # Alternate who goes first, so neither always meets a cold Prometheus.
        for round_ in range(repeat):
            for contender in ("requests", "opsledger") if round_ % 2 == 0 else ("opsledger", "requests"):
                if contender == "requests":
                    results["requests"].append(plain_requests(server.url, days))
                    continue
                home = Path(tempfile.mkdtemp(prefix="home-", dir=run))
                began = time.perf_counter()
                collection = collect_metrics(Settings(home=home), settings, START, end)
                seconds = time.perf_counter() - began
                results["opsledger"].append({"seconds": seconds, "samples": collection.rows_written})
                shutil.rmtree(home)
    finally:
        server.stop()
        shutil.rmtree(run, ignore_errors=True)
    return _summary("prometheus", results, expected, "samples", {"series": series, "days": days})


def directory_ldif(users: int, groups: int) -> str:
    parts = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: bench\no: Bench\n",
        f"dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=groups,{BASE_DN}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    parts += [
        f"dn: uid=u{i:06d},ou=people,{BASE_DN}\nobjectClass: inetOrgPerson\nuid: u{i:06d}\n"
        f"cn: User {i}\nsn: {i}\nmail: u{i:06d}@bench.example\n"
        for i in range(users)
    ]
    members: list[list[int]] = [[] for _ in range(groups)]
    for i in range(users):  # three groups each, spread evenly
        for k in range(GROUPS_PER_USER):
            members[(i * (2 * k + 1) + k) % groups].append(i)
    parts += [
        f"dn: cn=g{g:04d},ou=groups,{BASE_DN}\nobjectClass: groupOfNames\ncn: g{g:04d}\n"
        + "".join(f"member: uid=u{i:06d},ou=people,{BASE_DN}\n" for i in sorted(set(m)))
        for g, m in enumerate(members)
    ]
    return "\n".join(parts)


def bench_ldap(workdir: Path, users: int, groups: int, repeat: int) -> dict:
    import ldap3

    from collectors.ldap_live import OPENLDAP_FILTERS, OPERATIONAL_ATTRIBUTES, LdapSettings
    from opsledger.live_directory import collect_directory

    run = Path(tempfile.mkdtemp(prefix="slapd-", dir=workdir))
    password = "bench-reader-" + os.urandom(6).hex()
    os.environ[PASSWORD_ENV] = password
    server = Slapd(
        free_port(),
        run,
        suffix=BASE_DN,
        root_dn=f"cn=admin,{BASE_DN}",
        root_password=os.urandom(9).hex(),
        nosync=True,
    ).start()
    results = {"opsledger": [], "ldap3": []}
    try:
        began = time.perf_counter()
        server.load(directory_ldif(users, groups))
        server.load(
            f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
            f"cn: reader\nuserPassword: {password}\n"
        )
        load_s = time.perf_counter() - began
        print(f"  ldapadd of {users + groups + 3:,} entries in {load_s:.1f} s", flush=True)
        settings = LdapSettings(
            name="bench", url=server.url, base_dn=BASE_DN, bind_dn=READER_DN, password_env=PASSWORD_ENV
        )
        search_filter = f"(|{OPENLDAP_FILTERS[0]}{OPENLDAP_FILTERS[1]})"
        for _ in range(repeat):
            began = time.perf_counter()
            # No schema read: the operational attributes the collector asks for are not all in
            # OpenLDAP's schema, and ldap3 would refuse them client-side.
            target = ldap3.Server(server.url, get_info=ldap3.NONE)
            conn = ldap3.Connection(target, READER_DN, password, auto_bind=True, read_only=True)
            entries = sum(
                1
                for r in conn.extend.standard.paged_search(
                    BASE_DN,
                    search_filter,
                    attributes=[ldap3.ALL_ATTRIBUTES, *OPERATIONAL_ATTRIBUTES],
                    paged_size=settings.page_size,
                    generator=True,
                )
                if r["type"] == "searchResEntry"
            )
            conn.unbind()
            results["ldap3"].append({"seconds": time.perf_counter() - began, "entries": entries})

            home = Path(tempfile.mkdtemp(prefix="home-", dir=run))
            began = time.perf_counter()
            result = collect_directory(home, settings)
            seconds = time.perf_counter() - began
            results["opsledger"].append({"seconds": seconds, "entries": result.rows_read})
            shutil.rmtree(home)
    finally:
        server.stop()
        shutil.rmtree(run, ignore_errors=True)
    extra = {"users": users, "groups": groups, "memberships": users * GROUPS_PER_USER, "ldapadd_s": load_s}
    return _summary("ldap", results, users + groups, "entries", extra)


def _summary(name: str, results: dict, expected: int, unit: str, extra: dict) -> dict:
    rows = {}
    for contender, runs in results.items():
        best = min(runs, key=lambda r: r["seconds"])
        counted = {r[unit] for r in runs}
        rows[contender] = {
            "seconds": round(best["seconds"], 3),
            unit: best[unit],
            f"{unit}_per_s": round(best[unit] / best["seconds"]),
            "complete": counted == {expected},
        }
    return {"benchmark": name, "unit": unit, "expected": expected, **extra, "contenders": rows}


def report(summary: dict) -> bool:
    unit = summary["unit"]
    print(f"\n{summary['benchmark']}: {summary['expected']:,} {unit} expected")
    print(f"  {'contender':<12} {'seconds':>9} {unit:>12} {unit + '/s':>14}  complete")
    for name, row in summary["contenders"].items():
        print(
            f"  {name:<12} {row['seconds']:>9.2f} {row[unit]:>12,} {row[unit + '_per_s']:>14,}  "
            f"{'yes' if row['complete'] else 'NO'}"
        )
    (ours,) = (row for name, row in summary["contenders"].items() if name == "opsledger")
    baseline = next(row for name, row in summary["contenders"].items() if name != "opsledger")
    print(f"  opsledger / baseline throughput: {ours[unit + '_per_s'] / baseline[unit + '_per_s']:.2f}")
    return all(row["complete"] for row in summary["contenders"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2, help="runs per contender; the best is reported")
    parser.add_argument("--only", choices=("prometheus", "ldap"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/opsledger-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    summaries = []
    if args.only in (None, "prometheus"):
        print(f"prometheus: {args.series} series × {args.days} days of 1-minute samples", flush=True)
        summaries.append(bench_prometheus(args.workdir, args.series, args.days, args.repeat))
    if args.only in (None, "ldap"):
        print(f"ldap: {args.users:,} users, {args.groups:,} groups", flush=True)
        summaries.append(bench_ldap(args.workdir, args.users, args.groups, args.repeat))
    ok = all([report(summary) for summary in summaries])
    saved = args.workdir / f"collect-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    saved.write_text(
        json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": summaries}, indent=2)
    )
    print(f"\nsaved {saved}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
