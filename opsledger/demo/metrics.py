"""`metrics/D.om`: what Prometheus scraped from each service, as OpenMetrics text with timestamps.

Per service and scrape: ``http_requests_total{service,method,code}`` (counter),
``http_request_duration_seconds`` (histogram) and ``up`` (gauge). Counters continue from one
day file to the next and drop to 0 when the service restarts (every deploy, and the end of
the outage and of the maintenance window). The whole month is simulated as arrays first, then
cut into day files and rendered with vectorized string operations.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from opsledger.demo.model import (
    DAY_MS,
    DEPENDENCY_DOWN,
    DOWN,
    MAINTENANCE,
    NORMAL,
    POOL_TIMEOUT_S,
    REGRESSION,
    REGRESSION_5XX,
    REGRESSION_LATENCY,
    diurnal,
    rng_for,
    spec_for,
    weekday_factor,
)
from opsledger.demo.plan import Plan

LE = ("0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf")
LE_BOUNDS = np.array([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
REGIMES = (NORMAL, REGRESSION, DOWN, DEPENDENCY_DOWN, MAINTENANCE)
HEADERS = {
    "http_requests": ("counter", "HTTP requests served, by method and status code.", None),
    "http_request_duration_seconds": ("histogram", "Time to serve an HTTP request.", "seconds"),
    "up": ("gauge", "1 if the service passed its health check at scrape time, else 0.", None),
}


@dataclass
class ServiceSeries:
    """A service's whole-period series: one row per scrape."""

    name: str
    t_ms: np.ndarray  # scrape times
    combos: list[tuple[str, str]]  # (method, code), columns of `requests`
    lazy: np.ndarray  # combos exported only once served since the last restart
    requests: np.ndarray  # [T, C] cumulative counts
    buckets: np.ndarray  # [T, 8] cumulative, le-cumulative
    total_sum: np.ndarray  # [T] cumulative seconds
    up: np.ndarray  # [T] 0/1


def _phi(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _bin_stats(components: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Per histogram bin: probability, and mean duration of requests in it (lognormal mixture)."""
    prob, part = np.zeros(8), np.zeros(8)
    edges = np.log(np.concatenate([[1e-12], LE_BOUNDS, [1e12]]))
    for weight, median, sigma in components:
        mu = math.log(median)
        cdf = _phi((edges - mu) / sigma)
        # E[X; a < X <= b] for a lognormal: exp(mu + s^2/2) * (Phi(z_b - s) - Phi(z_a - s)).
        pcdf = _phi((edges - mu - sigma**2) / sigma)
        prob += weight * np.diff(cdf)
        part += weight * math.exp(mu + sigma**2 / 2) * np.diff(pcdf)
    mean = np.divide(part, prob, out=np.append(LE_BOUNDS, 7.5).astype(float), where=prob > 1e-15)
    return prob / prob.sum(), mean


def _regime_mix(name: str, combos: list[tuple[str, str]], base: np.ndarray, regime: int):
    spec = spec_for(name)
    normal = (1.0, *spec.latency)
    timeout = (1.0, POOL_TIMEOUT_S + 0.02, 0.004)
    methods = np.array([m for m, _ in combos])
    codes = np.array([c for _, c in combos])
    share = {m: base[methods == m].sum() for m in set(methods)}
    p = base.copy()
    lat = [normal]
    if regime == REGRESSION:
        err = codes == "500"
        if err.any():
            p = np.where(err, 0.0, p * (1 - REGRESSION_5XX))
            p[err] = (
                REGRESSION_5XX
                * np.array([share[m] for m in methods[err]])
                / sum(share[m] for m in methods[err])
            )
        lat = [(1.0, *REGRESSION_LATENCY)]
    elif regime in (DOWN, MAINTENANCE):
        p = np.where(codes == "503", [share[m] for m in methods], 0.0)
        lat = [timeout] if regime == DOWN else [(1.0, 0.004, 0.4)]
    elif regime == DEPENDENCY_DOWN:
        post = methods == "POST"
        p = np.where(post & (codes != "503"), p * 0.4, p)
        p[post & (codes == "503")] = 0.6 * share.get("POST", 0.0)
        lat = [
            (1 - 0.6 * share.get("POST", 0.0), *spec.latency),
            (0.6 * share.get("POST", 0.0), *timeout[1:]),
        ]
    return p / p.sum(), _bin_stats(lat)


def simulate(plan: Plan, name: str, index: int) -> ServiceSeries:
    rng = rng_for(plan.seed, "metrics", index)
    spec = spec_for(name)
    step = plan.scrape_interval_s * 1000
    n_scrapes = plan.days * DAY_MS // step
    offset = int(rng.integers(0, min(step, 15_000)))
    t_ms = plan.epoch0 + np.arange(n_scrapes, dtype=np.int64) * step + offset + rng.integers(0, 8, n_scrapes)
    regime = plan.regime(name, t_ms - step // 2)
    combos = [(m, c) for m, c, _ in spec.combos]
    if np.isin(regime, (DOWN, MAINTENANCE, DEPENDENCY_DOWN)).any():
        combos += [(m, "503") for m in dict.fromkeys(m for m, _ in combos) if (m, "503") not in combos]
    base = np.array([dict(((m, c), s) for m, c, s in spec.combos).get(k, 0.0) for k in combos])

    day_idx = (t_ms - plan.epoch0) // DAY_MS
    weekday = np.array([weekday_factor(plan.day_date(d)) for d in range(plan.days)])[day_idx]
    hours = (t_ms % DAY_MS) / 3_600_000
    n = rng.poisson(spec.rate * plan.scale * diurnal(hours) * weekday * plan.scrape_interval_s)
    inc = np.zeros((n_scrapes, len(combos)), dtype=np.int64)
    bins = np.zeros((n_scrapes, 8), dtype=np.int64)
    seconds = np.zeros(n_scrapes)
    for r in REGIMES:
        rows = np.flatnonzero(regime == r)
        if rows.size == 0:
            continue
        p, (pbin, mean) = _regime_mix(name, combos, base, r)
        inc[rows] = rng.multinomial(n[rows], p)
        bins[rows] = rng.multinomial(n[rows], pbin)
        seconds[rows] = bins[rows] @ mean
    # The month starts mid-life: the process has been up for a while since its last restart.
    warm = int(rng.poisson(spec.rate * plan.scale * 0.6 * rng.uniform(6, 72) * 3600))
    p0, (pbin0, mean0) = _regime_mix(name, combos, base, NORMAL)
    inc[0] += rng.multinomial(warm, p0)
    bins[0] += rng.multinomial(warm, pbin0)
    seconds[0] += bins[0] @ mean0

    resets = np.searchsorted(t_ms, np.array(plan.restarts.get(name, []), dtype=np.int64))
    resets = resets[resets < n_scrapes]
    segment = np.searchsorted(resets, np.arange(n_scrapes), side="right")

    def cumulative(x: np.ndarray) -> np.ndarray:
        cs = np.cumsum(x, axis=0)
        before = np.concatenate([np.zeros((1, *cs.shape[1:]), cs.dtype), cs[np.maximum(resets - 1, 0)]])
        before[1:][resets == 0] = 0
        return cs - before[segment]

    return ServiceSeries(
        name=name,
        t_ms=t_ms,
        combos=combos,
        lazy=np.array([c != "200" for _, c in combos]),
        requests=cumulative(inc),
        buckets=np.cumsum(cumulative(bins), axis=1),
        total_sum=cumulative(seconds),
        up=np.where(np.isin(regime, (DOWN, MAINTENANCE)), 0, 1),
    )


def _ts(t_ms: np.ndarray) -> pl.Series:
    return pl.Series(t_ms // 1000).cast(pl.String) + "." + pl.Series(t_ms % 1000).cast(pl.String).str.zfill(3)


def _lines(prefix: str, values: pl.Series, ts: pl.Series) -> pl.Series:
    return prefix + " " + values + " " + ts


def _ints(a: np.ndarray) -> pl.Series:
    return pl.Series(a, dtype=pl.Int64).cast(pl.String)


def day_text(series: list[ServiceSeries], lo_ms: int, hi_ms: int) -> tuple[str, int]:
    """The OpenMetrics text of one day, and its number of sample lines."""
    fam: dict[str, list[pl.Series]] = {k: [] for k in HEADERS}
    for s in series:
        rows = slice(*np.searchsorted(s.t_ms, [lo_ms, hi_ms]))
        ts = _ts(s.t_ms[rows])
        for c, (method, code) in enumerate(s.combos):
            v = s.requests[rows, c]
            lines = _lines(
                f'http_requests_total{{service="{s.name}",method="{method}",code="{code}"}}', _ints(v), ts
            )
            fam["http_requests"].append(lines.filter(pl.Series(v > 0)) if s.lazy[c] else lines)
        label = f'service="{s.name}"'
        point = [
            _lines(
                f'http_request_duration_seconds_bucket{{{label},le="{le}"}}', _ints(s.buckets[rows, k]), ts
            )
            for k, le in enumerate(LE)
        ]
        point.append(_lines(f"http_request_duration_seconds_count{{{label}}}", _ints(s.buckets[rows, 7]), ts))
        total = pl.Series(s.total_sum[rows]).round(3).cast(pl.String)
        point.append(_lines(f"http_request_duration_seconds_sum{{{label}}}", total, ts))
        # One histogram point = its buckets, count and sum together, points in time order.
        frame = pl.DataFrame({str(i): p for i, p in enumerate(point)})
        fam["http_request_duration_seconds"].append(
            frame.select(pl.concat_list(pl.all()).alias("l")).explode("l")["l"]
        )
        fam["up"].append(_lines(f"up{{{label}}}", _ints(s.up[rows]), ts))
    parts, n_samples = [], 0
    for family, (kind, help_text, unit) in HEADERS.items():
        parts.append(f"# TYPE {family} {kind}\n# HELP {family} {help_text}\n")
        if unit:
            parts.append(f"# UNIT {family} {unit}\n")
        lines = pl.concat(fam[family])
        n_samples += lines.len()
        if lines.len():
            parts.append(lines.str.join("\n").item() + "\n")
    parts.append("# EOF\n")
    return "".join(parts), n_samples


def write(plan: Plan, out_dir: Path) -> Iterator[tuple[int, int]]:
    """Write every day file; yields (day, sample lines) as each is written."""
    series = [simulate(plan, name, i) for i, name in enumerate(plan.services)]
    folder = out_dir / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for day in range(plan.days):
        text, n = day_text(series, plan.day_ms(day), plan.day_ms(day + 1))
        (folder / f"{plan.day_date(day).isoformat()}.om").write_text(text)
        yield day, n
