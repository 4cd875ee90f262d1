"""SLO benchmark: Sloth's rules replayed over history, opsledger vs Prometheus ``query_range``.

N SLOs × D days of 1-minute good/total counters (``make_slo_counters.py``) are backfilled into a
Prometheus TSDB and written to a lake. Both contenders compute, at every 5-minute step of the
D days and for every SLO, the error ratios over 5m, 30m, 1h, 2h, 6h, 1d, 3d and the 30-day error
budget remaining; the parent checks the two agree, then times opsledger's 30-day status of
``--big-slos`` SLOs. Each contender runs in its own subprocess, one after the other.

    .venv/bin/python tests/benchmarks/bench_slo.py                       # 100 SLOs × 30 days, 1,000
    .venv/bin/python tests/benchmarks/bench_slo.py --slos 10 --days 3 --big-slos 100   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_slo_counters as gen  # noqa: E402  (sibling scripts, not a package)
import prometheus_server  # noqa: E402

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
STEP = timedelta(minutes=5)
PERIOD = "30d"
# Prometheus refuses a query_range of more than 11,000 points per series.
MAX_POINTS = 11_000
SPEED_FACTOR = 10.0
BIG_LIMIT_S = 10.0
RELATIVE_TOLERANCE = 1e-9
DEFAULT_WORKDIR = Path("/tmp/opsledger-bench")
CONTENDERS = ("prometheus", "opsledger", "big")
# What an evaluation reads of the stored facts (their ``slo`` column names the file's one SLO).
FACT_COLUMNS = ["grp", "minute", "good", "total"]


def steps(days: int) -> tuple[datetime, datetime]:
    """Prometheus' first and last evaluation instants: 5-minute steps from the first one whose
    5m window holds two samples to the last sample."""
    last = gen.end_of(days)
    last -= timedelta(minutes=last.minute % 5)
    return gen.START + STEP, last


def spec_text(tier: str, target: float) -> str:
    return f"""apiVersion: openslo/v1
kind: SLO
metadata:
  name: requests-{tier}
  annotations:
    opsledger.io/group-by: slo
spec:
  service: bench
  description: Requests of the {tier} tier served without error.
  budgetingMethod: Occurrences
  timeWindow:
    - duration: {PERIOD}
      isRolling: true
  objectives:
    - target: {target}
  indicator:
    metadata:
      name: requests-{tier}
    spec:
      ratioMetric:
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: slo_errors_total{{tier="{tier}"}}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: slo_requests_total{{tier="{tier}"}}
"""


def load_slos(folder: Path) -> list:
    """One OpenSLO spec per tier, loaded by opsledger's loader; one SLO instance per ``slo`` label."""
    from opsledger.slo.loaders import load_specs

    folder.mkdir(parents=True, exist_ok=True)
    for tier, target in gen.TIERS.items():
        (folder / f"{tier}.yaml").write_text(spec_text(tier, target))
    slos = load_specs(sorted(folder.glob("*.yaml")))
    if any(s.group_by != ("slo",) for s in slos):
        raise SystemExit("the specs' opsledger.io/group-by annotation was not applied by the loader")
    return slos


# ---------------------------------------------------------------- contenders (in subprocesses)


def prometheus_queries() -> list[tuple[str, str]]:
    """(output name, PromQL): Sloth's SLI recording rule per window, over every SLO ``by (slo)``,
    and per tier Sloth's period budget remaining — the 5m ratio averaged over the period."""
    queries = [
        (w, f"sum by (slo) (rate(slo_errors_total[{w}])) / sum by (slo) (rate(slo_requests_total[{w}]))")
        for w in WINDOWS
    ]
    for tier, target in gen.TIERS.items():
        ratio = (
            f'sum by (slo) (rate(slo_errors_total{{tier="{tier}"}}[5m]))'
            f' / sum by (slo) (rate(slo_requests_total{{tier="{tier}"}}[5m]))'
        )
        queries.append(("budget", f"1 - avg_over_time(({ratio})[{PERIOD}:5m]) / {1 - target!r}"))
    return queries


def run_prometheus(folder: Path, out: Path, days: int) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    data_dir = out / "data"
    shutil.copytree(folder / "tsdb", data_dir)
    server = prometheus_server.PrometheusServer(data_dir).start()
    first, last = steps(days)
    span = int(STEP.total_seconds()) * (MAX_POINTS - 1)
    chunks, lo = [], first.timestamp()
    while lo <= last.timestamp():
        chunks.append((lo, min(lo + span, last.timestamp())))
        lo += span + STEP.total_seconds()
    parts, requests, waited = [], 0, 0.0
    try:
        started = time.perf_counter()
        for name, query in prometheus_queries():
            for lo, hi in chunks:
                form = {"query": query, "start": lo, "end": hi, "step": int(STEP.total_seconds())}
                request = urllib.request.Request(
                    f"{server.url}/api/v1/query_range", data=urllib.parse.urlencode(form).encode()
                )
                asked = time.perf_counter()
                with urllib.request.urlopen(request, timeout=3600) as answer:
                    raw = answer.read()
                waited += time.perf_counter() - asked
                body = json.loads(raw)
                requests += 1
                for series in body["data"]["result"]:
                    points = np.array(series["values"])  # [[ts, "value"], …] → a 2-column str array
                    parts.append((name, series["metric"]["slo"], points[:, 0].astype(float), points[:, 1]))
        # Up to here: what a client of Prometheus waits for (HTTP, evaluation, JSON decode).
        seconds = time.perf_counter() - started
        server_rss = server.peak_rss_mb()
    finally:
        server.stop()
    table = pa.concat_tables(
        pa.table(
            {
                "window": pa.array([name] * len(ts)),
                "group": pa.array([slo] * len(ts)),
                "at": pa.array((ts * 1e6).astype("int64"), pa.int64()).cast(pa.timestamp("us", tz="UTC")),
                "value": pa.array(values.astype(float)),
            }
        )
        for name, slo, ts, values in parts
    )
    pq.write_table(table, out / "values.parquet")
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "seconds": seconds,
        "points": table.num_rows,
        "requests": requests,
        "http_seconds": waited,
        "server_peak_rss_mb": server_rss,
        "note": f"{requests} query_range requests of ≤ {MAX_POINTS:,} points per series",
    }


def run_opsledger(folder: Path, out: Path, days: int) -> dict:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from opsledger.slo.evaluate import evaluate_facts, windowed_history
    from opsledger.slo.facts import build_facts
    from opsledger.slo.periods import window_at
    from opsledger.warehouse import refresh_views

    slos = load_slos(out / "specs")
    first, last = steps(days)
    # opsledger files a counter increase under the minute of the sample that ends it and evaluates
    # over complete minutes, so the sample at t is counted from t + 1 minute on (README).
    start, end = first + timedelta(minutes=1), last + timedelta(minutes=1)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    refresh_views(con, folder / "lake")

    started = time.perf_counter()
    facts = {slo.name: build_facts(con, slo, gen.START, end) for slo in slos}
    facts_s = time.perf_counter() - started
    for name, table in facts.items():
        pq.write_table(table, out / f"facts-{name}.parquet")

    # The replay a user waits for once the facts are stored (the facts asset): read, evaluate.
    started = time.perf_counter()
    history = []
    for slo in slos:
        stored = pq.read_table(out / f"facts-{slo.name}.parquet", columns=FACT_COLUMNS)
        history.append(windowed_history(con, stored, slo, 0, start, end, STEP))
    replay_s = time.perf_counter() - started

    started = time.perf_counter()
    status = [evaluate_facts(con, facts[s.name], s, 0, [window_at(s.time_window, end)]) for s in slos]
    status_s = time.perf_counter() - started

    long = []
    for table in history:
        base = {"group": table["group"], "at": table["at"]}
        for w in WINDOWS:
            long.append(
                pa.table({"window": pa.array([w] * len(table)), **base, "value": table[f"error_ratio_{w}"]})
            )
        long.append(
            pa.table(
                {
                    "window": pa.array(["budget"] * len(table)),
                    **base,
                    "value": table["error_budget_remaining"],
                }
            )
        )
    values = pa.concat_tables(long)
    pq.write_table(values, out / "values.parquet")
    pq.write_table(pa.concat_tables(status), out / "status.parquet")
    return {
        "seconds": facts_s + replay_s,
        "facts_seconds": facts_s,
        "replay_seconds": replay_s,
        "status_seconds": status_s,
        "points": values.num_rows,
        "fact_rows": sum(t.num_rows for t in facts.values()),
        "samples": con.sql("select count(*) from metric_samples").fetchall()[0][0],
    }


def run_big(folder: Path, out: Path, days: int, slos_n: int, seed: int) -> dict:
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from opsledger.slo.evaluate import evaluate_facts, windowed_history
    from opsledger.slo.periods import window_at

    slos = load_slos(out / "specs")
    stored = folder / f"facts-{slos_n}x{days}d-seed{seed}"
    if not (stored / "facts.ok").exists():
        stored.mkdir(parents=True, exist_ok=True)
        facts = gen.facts_table(slos_n, days, seed)
        for slo in slos:
            part = facts.filter(pc.equal(facts["slo"], slo.name.removeprefix("requests-")))
            part = part.set_column(0, "slo", pa.array([slo.name] * len(part)))
            pq.write_table(part, stored / f"{slo.name}.parquet")
        del facts
        (stored / "facts.ok").write_text("ok\n")
    end = gen.START + timedelta(days=days)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    # The status a user waits for: stored facts read and evaluated at one instant.
    started = time.perf_counter()
    rows = 0
    for slo in slos:
        facts = pq.read_table(stored / f"{slo.name}.parquet", columns=FACT_COLUMNS)
        rows += evaluate_facts(con, facts, slo, 0, [window_at(slo.time_window, end)]).num_rows
    status_s = time.perf_counter() - started
    started = time.perf_counter()
    points = 0
    for slo in slos:
        facts = pq.read_table(stored / f"{slo.name}.parquet", columns=FACT_COLUMNS)
        points += windowed_history(con, facts, slo, 0, gen.START + STEP, end, STEP).num_rows * 8
    replay_s = time.perf_counter() - started
    return {"seconds": status_s, "status_rows": rows, "replay_seconds": replay_s, "points": points}


# ---------------------------------------------------------------- parent: runs, checks, reports


def measure(name: str, args, folder: Path) -> dict:
    out = args.workdir / f"slo-out-{name}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result_file = out / "result.json"
    command = [sys.executable, __file__, "--contender", name, "--data", str(folder), "--out", str(out)]
    command += ["--days", str(args.days), "--big-slos", str(args.big_slos), "--seed", str(args.seed)]
    load_before = os.getloadavg()[0]
    child = subprocess.Popen(command)
    # wait4: the child's own rusage (a max over every child so far with RUSAGE_CHILDREN).
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name}: benchmark process failed")
    result = json.loads(result_file.read_text())
    result.update(
        name=name,
        data=str(folder),
        out=str(out),
        peak_rss_mb=usage.ru_maxrss / 1024,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )
    return result


# Both outputs as tables; opsledger's instant t + 1 minute holds Prometheus' instant t (README).
TABLES = """
create table p as
select "window", "group", "at", nullif(value, 'NaN'::double) as value from read_parquet($prometheus);
create table o as
select "window", "group", "at" - interval 1 minute as "at", value from read_parquet($opsledger);
-- Sloth's period ratio from opsledger's own 5m ratios: their mean over the period at each step.
create table o_sloth as
select 'budget' as "window", o."group", o."at",
    1 - avg(o.value) over (
        partition by o."group" order by o."at"
        range between interval (PERIOD_DAYS) day preceding and current row
    ) / b.error_budget as value
from o join budgets as b using ("group")
where o."window" = '5m';
"""
# One row per window: where both have a value, the largest differences inside the data (the
# window [t − w, t] after the first sample) and at its edge.
COMPARE = """
with pairs as (
    select
        "window",
        "group",
        p.value as p,
        o.value as o,
        coalesce(p."at", o."at") - l.window_length >= $data_start as interior
    from p full join OTHER as o using ("window", "group", "at")
    join lengths as l using ("window")
    where "window" in (select unnest($windows::varchar[]))
)
select
    "window",
    count(*) filter (where p is not null and o is not null) as common,
    count(*) filter (where (p is null) <> (o is null)) as one_sided,
    max(abs(p - o)) filter (where interior) as max_abs,
    max(abs(p - o) / nullif(greatest(abs(p), abs(o)), 0)) filter (where interior) as max_rel,
    count(*) filter (where interior and (p is null) <> (o is null)) as one_sided_interior,
    max(abs(p - o)) filter (where not interior) as max_abs_edge,
    count(*) filter (where not interior and abs(p - o) > $tolerance * greatest(abs(p), abs(o)))
        as differ_edge,
    count(*) filter (where not interior) as edge,
    count(distinct "group") filter (where not interior and abs(p - o) > $tolerance * greatest(abs(p), abs(o)))
        as differ_edge_slos
from pairs
group by "window"
"""


def agreement(results: dict, args) -> tuple[list[dict], bool]:
    """Prometheus vs opsledger at common (SLO, instant), per window."""
    import duckdb
    import pyarrow as pa

    names = gen.slo_names(args.slos)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    budget = [1 - gen.TIERS[gen.tier_of(i)] for i in range(len(names))]
    con.register("budgets", pa.table({"group": names, "error_budget": budget}))
    lengths = [_duration(w) for w in WINDOWS] + [timedelta(minutes=5)]  # Sloth's budget: 5m ratios
    con.register("lengths", pa.table({"window": [*WINDOWS, "budget"], "window_length": lengths}))
    paths = {
        "prometheus": str(Path(results["prometheus"]["out"]) / "values.parquet"),
        "opsledger": str(Path(results["opsledger"]["out"]) / "values.parquet"),
    }
    for statement in TABLES.replace("PERIOD_DAYS", PERIOD.removesuffix("d")).split(";")[:-1]:
        con.execute(statement, {k: v for k, v in paths.items() if f"${k}" in statement})
    columns = ["window", "common", "one_sided", "max_abs", "max_rel", "one_sided_interior", "max_abs_edge"]
    columns += ["differ_edge", "edge", "differ_edge_slos"]
    rows = []
    # "exact": the same quantity on both sides; "sloth": Prometheus' budget (Sloth's mean of 5m
    # ratios) against the same mean of opsledger's 5m ratios.
    for kind, other, windows in (("exact", "o", [*WINDOWS, "budget"]), ("sloth", "o_sloth", ["budget"])):
        params = {"windows": windows, "tolerance": RELATIVE_TOLERANCE, "data_start": gen.START}
        for row in con.sql(COMPARE.replace("OTHER", other), params=params).fetchall():
            rows.append({**dict(zip(columns, row, strict=True)), "kind": kind})
    order = {w: i for i, w in enumerate([*WINDOWS, "budget"])}
    rows.sort(key=lambda r: (r["kind"] == "sloth", order[r["window"]]))
    # Budget remaining is in units of the budget (1 = all of it) and crosses 0, where a relative
    # difference means nothing: it is held to an absolute one.
    ok = all(
        (r["max_abs"] if r["window"] == "budget" else r["max_rel"] or 0) <= RELATIVE_TOLERANCE
        and r["one_sided_interior"] == 0
        for r in rows
        if (r["kind"], r["window"]) != ("exact", "budget")
    )
    # Where the edges differ: SLOs whose error counter's first sample is 0, so Prometheus' zero-point
    # rule stops its extrapolation towards the window start for errors but not for requests.
    edge = con.sql(
        """
        select distinct "group" from p join o using ("window", "group", "at") join lengths using ("window")
        where "at" - window_length < $data_start and abs(p.value - o.value) > $tolerance * abs(p.value)
        """,
        params={"data_start": gen.START, "tolerance": RELATIVE_TOLERANCE},
    ).fetchall()
    zero = con.sql(
        """
        select distinct labels['slo'] from read_parquet($lake, hive_partitioning = false)
        where metric = 'slo_errors_total' and ts = $data_start and value = 0
        """,
        params={
            "lake": str(Path(results["opsledger"]["data"]) / "lake/metric_samples/*/*.parquet"),
            "data_start": gen.START,
        },
    ).fetchall()
    edge_slos, zero_slos = {g for (g,) in edge}, {g for (g,) in zero}
    # The 30-day status itself: how far Sloth's averaged budget is from the exact one at the end.
    (last,) = con.sql(
        """
        select quantile_cont(abs(p.value - o.value), [0.5, 1.0]) from p join o using ("window", "group", "at")
        where "window" = 'budget' and "at" = (select max("at") from p)
        """
    ).fetchall()[0]
    return rows, ok, (edge_slos, zero_slos), last


def _duration(text: str) -> timedelta:
    unit = {"m": "minutes", "h": "hours", "d": "days"}[text[-1]]
    return timedelta(**{unit: int(text[:-1])})


def report(results: dict, args) -> bool:
    prom, ops, big = results.get("prometheus"), results.get("opsledger"), results.get("big")
    print()
    print(
        f"{'contender':<44}{'seconds':>9}{'points':>12}{'points/s':>12}{'vs Prometheus':>15}"
        f"{'peak RSS MB':>13}"
    )
    lines = []
    if prom:
        rss = max(prom["peak_rss_mb"], prom["server_peak_rss_mb"])
        lines.append(("prometheus query_range (HTTP + JSON)", prom["seconds"], prom["points"], rss))
    if ops:
        lines.append(
            ("opsledger: counters → facts → replay", ops["seconds"], ops["points"], ops["peak_rss_mb"])
        )
        lines.append(("opsledger: stored facts → replay", ops["replay_seconds"], ops["points"], None))
    for label, seconds, points, rss in lines:
        ratio = f"{prom['seconds'] / seconds:.1f}×" if prom else "-"
        rss_text = f"{rss:.0f}" if rss is not None else "(same run)"
        print(f"{label:<44}{seconds:>9.2f}{points:>12,}{points / seconds:>12,.0f}{ratio:>15}{rss_text:>13}")
    load = ", ".join(f"{r['name']} {r['load_before']:.1f} → {r['load_after']:.1f}" for r in results.values())
    print(f"  1-minute load average before → after: {load}")
    if prom:
        print(
            f"  prometheus: {prom['note']}; {prom['http_seconds']:.1f} s waiting for answers, the rest "
            f"decoding JSON; server peak RSS {prom['server_peak_rss_mb']:.0f} MB, "
            f"client {prom['peak_rss_mb']:.0f} MB"
        )
    if ops:
        print(
            f"  opsledger: {ops['samples']:,} counter samples → {ops['fact_rows']:,} fact rows in "
            f"{ops['facts_seconds']:.2f} s; replay {ops['replay_seconds']:.2f} s; "
            f"status of {args.slos} SLOs {ops['status_seconds']:.2f} s"
        )
    if big:
        print(
            f"  {args.big_slos} SLOs × {args.days} days, stored facts: status {big['seconds']:.2f} s "
            f"({big['status_rows']} rows), 5-minute replay {big['replay_seconds']:.2f} s "
            f"({big['points']:,} points), peak RSS {big['peak_rss_mb']:.0f} MB"
        )
    checks = []
    if prom and ops:
        rows, agree, (edge_slos, zero_slos), last = agreement(results, args)
        print("\nagreement (Prometheus at t vs opsledger at t + 1 min; interior = window inside the data):")
        print(
            f"{'compared':<22}{'common':>10}{'one-sided':>10}{'max |Δ| in':>13}{'max rel in':>12}"
            f"{'edge pts':>10}{'edge Δ>tol':>11}{'in SLOs':>9}{'max |Δ| edge':>14}"
        )
        for r in rows:
            label = {
                ("exact", "budget"): "budget: Sloth vs exact",
                ("sloth", "budget"): "budget: Sloth vs Sloth",
            }.get((r["kind"], r["window"]), f"ratio {r['window']}")
            print(
                f"{label:<22}{r['common']:>10,}{r['one_sided']:>10,}{_g(r['max_abs']):>13}{_g(r['max_rel']):>12}"
                f"{r['edge']:>10,}{r['differ_edge']:>11,}{r['differ_edge_slos']:>9,}{_g(r['max_abs_edge']):>14}"
            )
        print(
            "  'budget: Sloth vs exact' is the semantic difference (mean of 5m ratios vs Σbad/Σtotal), "
            "not a check."
        )
        print(
            f"  at the last instant Sloth's budget remaining is off the exact one by {last[0]:.3g} budgets "
            f"(median over SLOs), {last[1]:.3g} at most"
        )
        inside = edge_slos <= zero_slos
        print(
            f"  edge differences in {len(edge_slos)} SLOs, "
            f"{'all' if inside else 'NOT all'} among the {len(zero_slos)} whose error counter starts at 0"
        )
        checks.append(
            (
                f"interior points agree within {RELATIVE_TOLERANCE:g} (ratios: relative, budget: absolute)",
                agree,
                "",
            )
        )
        speed = prom["seconds"] / ops["replay_seconds"]
        checks.append(
            (
                f"opsledger replay from stored facts ≥ {SPEED_FACTOR:g}× Prometheus",
                speed >= SPEED_FACTOR,
                f"{speed:.1f}×",
            )
        )
        # Informational: Prometheus' own counterpart of fact building (promtool backfill and
        # compaction into blocks) is not timed either.
        speed = prom["seconds"] / ops["seconds"]
        print(f"  info: opsledger including fact building from the counters: {speed:.1f}× Prometheus")
    if big:
        checks.append(
            (
                f"status of {args.big_slos} SLOs × {args.days} days < {BIG_LIMIT_S:g} s",
                big["seconds"] < BIG_LIMIT_S,
                f"{big['seconds']:.2f} s",
            )
        )
    print()
    for label, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")
    return all(ok for _, ok, _ in checks)


def _g(value) -> str:
    return "-" if value is None else f"{value:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=100, help="SLOs replayed by both contenders")
    parser.add_argument("--days", type=int, default=30, help="days of 1-minute counters")
    parser.add_argument(
        "--big-slos", type=int, default=1000, help="SLOs of opsledger's status run (0 = skip)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument(
        "--only", default=",".join(CONTENDERS), help="comma-separated: " + ", ".join(CONTENDERS)
    )
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        run = {
            "prometheus": lambda: run_prometheus(args.data, args.out, args.days),
            "opsledger": lambda: run_opsledger(args.data, args.out, args.days),
            "big": lambda: run_big(args.data, args.out, args.days, args.big_slos, args.seed),
        }[args.contender]
        (args.out / "result.json").write_text(json.dumps(run()))
        return

    names = [n.strip() for n in args.only.split(",") if n.strip()]
    if args.big_slos <= 0 and "big" in names:
        names.remove("big")
    started = time.perf_counter()
    folder = gen.ensure(args.slos, args.days, args.seed, args.workdir)
    print(
        f"input: {folder} ({args.slos} SLOs × {args.days} days of 1-minute counters; "
        f"{time.perf_counter() - started:.0f} s)"
    )
    if "prometheus" in names:
        prometheus_server.ensure_tsdb(folder)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; contenders run one at a time")
    results = {}
    for name in names:
        print(f"{name} …", flush=True)
        results[name] = measure(name, args, folder)
        print(f"  {results[name]['seconds']:.1f} s, peak {results[name]['peak_rss_mb']:.0f} MB", flush=True)
    ok = report(results, args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = args.workdir / f"slo-results-{stamp}.json"
    saved.write_text(
        json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=2)
    )
    print(f"\nfigures saved to {saved}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
