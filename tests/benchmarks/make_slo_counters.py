"""Synthetic SLO counters for the SLO benchmark: good/total request counters of N services, one
sample a minute, as Prometheus would have scraped them, with diurnal traffic, incidents and
counter resets.

Each SLO ``slo-NNNN`` has two counters, ``slo_requests_total`` (all requests) and
``slo_errors_total`` (bad ones), labelled ``slo`` and ``tier``; the tier sets the objective
(``TIERS``). Samples sit on whole minutes (timestamps in seconds) from ``START``. Counters start
at a random value (the process was running before the first scrape; some error counters at 0);
about a third of the SLOs restart once to three times, so both counters drop to the requests
since the restart. Incidents raise the error probability for 5 minutes to 5 hours.

Outputs, in one cache folder per (slos, days, seed):
* ``lake/metric_samples/date=*/`` — the counter samples as ``metric_samples`` rows in the lake's
  layout (one zstd Parquet file a day), which the warehouse's views read;
* ``om/day-NN.om`` — the same samples as OpenMetrics, one file per day (for ``promtool``);
* ``facts(...)`` — per-minute good/total increases straight from the generator, without counters
  (used where the benchmark needs facts for more SLOs than it backfills into Prometheus).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

START = datetime(2026, 10, 1, tzinfo=UTC)
DAY_MINUTES = 1440
# tier → objective; the SLO's index picks its tier round-robin.
TIERS = {"gold": 0.9995, "silver": 0.999, "bronze": 0.995, "iron": 0.99}
TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Series:
    """One SLO's per-minute request and error increments, and the counters scraped from them."""

    name: str
    tier: str
    requests: np.ndarray  # increments, minute k = events in (k-1, k]
    errors: np.ndarray
    requests_counter: np.ndarray  # value of the sample at minute k
    errors_counter: np.ndarray


def slo_names(slos: int) -> list[str]:
    return [f"slo-{i:04d}" for i in range(slos)]


def tier_of(index: int) -> str:
    return list(TIERS)[index % len(TIERS)]


def simulate(index: int, minutes: int, seed: int) -> Series:
    rng = np.random.default_rng([seed, index])
    k = np.arange(minutes)
    # At least ~5 requests a minute at the daily low, so no 5-minute window is empty (an empty window
    # is NaN in Prometheus and would make Sloth's averaged 30-day ratio NaN for the whole month).
    base = float(np.clip(rng.lognormal(np.log(60), 1.0), 10, 600))
    diurnal = 1 + 0.5 * np.sin(2 * np.pi * (k / DAY_MINUTES + rng.random()))
    requests = rng.poisson(base * diurnal)
    budget = 1 - TIERS[tier_of(index)]
    p_bad = np.full(minutes, budget * rng.uniform(0.05, 0.9))
    for _ in range(rng.poisson(3)):
        begin = int(rng.integers(0, minutes))
        p_bad[begin : begin + int(rng.integers(5, 300))] = rng.uniform(0.02, 0.6)
    errors = rng.binomial(requests, p_bad)
    resets = np.sort(rng.choice(np.arange(1, minutes), size=rng.integers(1, 4), replace=False))
    if rng.random() >= 1 / 3:
        resets = resets[:0]
    offsets = (int(rng.integers(10_000, 5_000_000)), int(rng.integers(0, 3) and rng.integers(1, 5_000)))
    return Series(
        name=f"slo-{index:04d}",
        tier=tier_of(index),
        requests=requests,
        errors=errors,
        requests_counter=_counter(requests, offsets[0], resets),
        errors_counter=_counter(errors, offsets[1], resets),
    )


def _counter(increments: np.ndarray, first: int, resets: np.ndarray) -> np.ndarray:
    """Cumulative values: ``first`` at minute 0, restarting from 0 before each reset minute."""
    steps = increments.astype(np.int64).copy()
    steps[0] = first
    total = np.cumsum(steps)
    if len(resets):
        # Subtract, from each restart on, everything counted before it.
        before = np.concatenate([[0], total[resets - 1]])
        segment = np.searchsorted(resets, np.arange(len(steps)), side="right")
        total = total - before[segment]
    return total


def samples_table(series: list[Series], day: int | None = None) -> pa.Table:
    """``metric_samples`` rows of every series (of one day when ``day`` is given)."""
    minutes = len(series[0].requests)
    lo, hi = (0, minutes) if day is None else (day * DAY_MINUTES, min(minutes, (day + 1) * DAY_MINUTES))
    n = hi - lo
    ts = pa.array(
        (np.datetime64(START.replace(tzinfo=None), "us") + np.arange(lo, hi) * np.timedelta64(60, "s")),
        TS,
    )
    parts = []
    for s in series:
        labels = pa.MapArray.from_arrays(
            np.arange(0, 2 * n + 1, 2, dtype=np.int32),
            pa.array(["slo", "tier"] * n),
            pa.array([s.name, s.tier] * n),
        )
        for metric, values in (
            ("slo_requests_total", s.requests_counter),
            ("slo_errors_total", s.errors_counter),
        ):
            parts.append(
                pa.table(
                    {
                        "ts": ts,
                        "metric": pa.array([metric] * n),
                        "labels": labels,
                        "value": pa.array(values[lo:hi].astype(np.float64)),
                        "source": pa.array(["bench"] * n),
                    }
                )
            )
    return pa.concat_tables(parts)


def openmetrics(series: list[Series], day: int) -> str:
    """One day of samples as OpenMetrics text; each family's series together, each in time order."""
    minutes = len(series[0].requests)
    lo, hi = day * DAY_MINUTES, min(minutes, (day + 1) * DAY_MINUTES)
    seconds = pl.Series(int(START.timestamp()) + np.arange(lo, hi) * 60).cast(pl.String)
    text = []
    for family, attr in (("slo_requests", "requests_counter"), ("slo_errors", "errors_counter")):
        text.append(f"# TYPE {family} counter\n# HELP {family} Requests of one SLO ({family}).\n")
        for s in series:
            values = pl.Series(getattr(s, attr)[lo:hi]).cast(pl.String)
            prefix = f'{family}_total{{slo="{s.name}",tier="{s.tier}"}} '
            lines = pl.DataFrame({"v": values, "t": seconds}).select(
                pl.concat_str(pl.lit(prefix), "v", pl.lit(" "), "t")
            )
            text.append(lines.to_series().str.join("\n").item() + "\n")
    text.append("# EOF\n")
    return "".join(text)


def facts_table(slos: int, days: int, seed: int) -> pa.Table:
    """The per-minute facts (``opsledger.slo.facts.FACTS_SCHEMA``, slo = tier spec, grp = SLO name)
    the counters would give, from the increments directly: no counters, no resets to undo."""
    minutes = days * DAY_MINUTES
    start = np.datetime64(START.replace(tzinfo=None), "us")
    minute = pa.array(start + np.arange(minutes) * np.timedelta64(60, "s"), TS)
    parts = []
    for index in range(slos):
        s = simulate(index, minutes, seed)
        requests = s.requests.astype(np.float64)
        # Minute 0 is the first sample: a baseline with data but no increase.
        requests[0] = 0
        errors = s.errors.astype(np.float64)
        errors[0] = 0
        parts.append(
            pa.table(
                {
                    "slo": pa.array([s.tier] * minutes),
                    "grp": pa.array([s.name] * minutes),
                    "minute": minute,
                    "good": pa.array(requests - errors),
                    "total": pa.array(requests),
                }
            )
        )
    return pa.concat_tables(parts)


def ensure(slos: int, days: int, seed: int, workdir: Path) -> Path:
    """The cache folder with the lake and ``om/day-*.om``, generated when missing."""
    folder = workdir / f"slo-{slos}x{days}d-seed{seed}"
    done = folder / "generated.ok"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    series = [simulate(i, days * DAY_MINUTES, seed) for i in range(slos)]
    (folder / "om").mkdir(exist_ok=True)
    for day in range(days):
        date = (START + timedelta(days=day)).date().isoformat()
        partition = folder / "lake" / "metric_samples" / f"date={date}"
        partition.mkdir(parents=True, exist_ok=True)
        pq.write_table(samples_table(series, day), partition / "samples.parquet", compression="zstd")
        (folder / "om" / f"day-{day:02d}.om").write_text(openmetrics(series, day))
    done.write_text(f"{datetime.now(UTC).isoformat()}\n")
    return folder


def end_of(days: int) -> datetime:
    """The last sample's instant."""
    return START + timedelta(minutes=days * DAY_MINUTES - 1)
