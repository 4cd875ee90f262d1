"""Shared vocabulary of the demo company: services, traffic shape, seeded randomness, id helpers.

Everything random comes from ``rng_for(seed, stream, *keys)``: one independent numpy generator
per (file kind, day, ...) so that a file's bytes depend only on the arguments, never on the
order in which other files were generated, on global state or on the wall clock.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

COMPANY = "Northwind Shop"
BASE_DN = "dc=northwind,dc=example"
TENANTS = ("acme", "globex")
TENANT_SHARE = (0.6, 0.4)
ENVIRONMENT = "production"
ECS_VERSION = "8.11.0"
DAY_MS = 86_400_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ServiceSpec:
    """How a service behaves in the metrics: request rate, (method, code) mix, latency."""

    name: str
    rate: float  # mean requests per second at the diurnal peak, before `scale`
    combos: tuple[tuple[str, str, float], ...]  # (method, code, share in normal operation)
    latency: tuple[float, float]  # lognormal (median seconds, sigma)


# Series count drives the metrics file size (one sample line per series per scrape): the mix
# below keeps the default month near 3.5 M lines. 5xx series are only exported once a request
# with that code was served since the last restart, as a Prometheus client library does.
SERVICE_SPECS: dict[str, ServiceSpec] = {
    "frontend": ServiceSpec(
        "frontend", 14.0, (("GET", "200", 0.975), ("GET", "404", 0.023), ("GET", "500", 0.002)), (0.045, 0.6)
    ),
    "catalog": ServiceSpec(
        "catalog", 9.0, (("GET", "200", 0.985), ("GET", "404", 0.013), ("GET", "500", 0.002)), (0.035, 0.55)
    ),
    "cart": ServiceSpec(
        "cart", 3.0, (("GET", "200", 0.55), ("POST", "200", 0.447), ("POST", "500", 0.003)), (0.03, 0.5)
    ),
    "checkout": ServiceSpec(
        "checkout",
        1.2,
        (("GET", "200", 0.3), ("POST", "200", 0.697), ("POST", "500", 0.003), ("POST", "503", 0.0)),
        (0.07, 0.45),
    ),
    "payments": ServiceSpec(
        "payments", 0.6, (("POST", "200", 0.996), ("POST", "500", 0.004), ("POST", "503", 0.0)), (0.12, 0.5)
    ),
    "auth": ServiceSpec("auth", 2.5, (("POST", "200", 0.94), ("POST", "401", 0.06)), (0.05, 0.5)),
}
CORE_SERVICES = ("frontend", "catalog", "cart", "checkout", "payments", "auth")
# When fewer services are asked for, keep the ones the story happens in.
KEEP_FIRST = ("frontend", "checkout", "payments", "catalog", "cart", "auth")
EXTRA_SERVICES = ("search", "inventory", "shipping", "reviews", "recommendations", "notifications")

# Regimes a service can be in during a scrape interval (see metrics.py and sessions.py).
NORMAL, REGRESSION, DOWN, DEPENDENCY_DOWN, MAINTENANCE = 0, 1, 2, 3, 4

REGRESSION_LATENCY = (0.45, 0.6)  # p95 = 0.45 * exp(1.645 * 0.6) ~ 1.2 s, vs ~0.15 s before
REGRESSION_5XX = 0.05
POOL_TIMEOUT_S = 5.0  # payments-db pool timeout: what every request waits for during the outage
SLOW_S = 0.5  # services log slower requests at warn level; shoppers start giving up beyond it


def service_names(n: int) -> tuple[str, ...]:
    if n < 1:
        raise ValueError("services must be at least 1")
    if n <= len(CORE_SERVICES):
        keep = set(KEEP_FIRST[:n])
        return tuple(s for s in CORE_SERVICES if s in keep)
    extra = [*EXTRA_SERVICES, *(f"service-{i:02d}" for i in range(len(CORE_SERVICES) + 1, n + 1))]
    return CORE_SERVICES + tuple(extra[: n - len(CORE_SERVICES)])


def spec_for(name: str) -> ServiceSpec:
    return SERVICE_SPECS.get(
        name,
        ServiceSpec(
            name, 2.0, (("GET", "200", 0.985), ("GET", "404", 0.012), ("GET", "500", 0.003)), (0.04, 0.5)
        ),
    )


def rng_for(seed: int, stream: str, *keys: int) -> np.random.Generator:
    # crc32, not hash(): str hashes are salted per process and would break determinism.
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), *keys])


def diurnal(hour_of_day: np.ndarray | float) -> np.ndarray:
    """Relative traffic by UTC hour: low around 07:30, peak around 19:30 (0.2 .. 1.0)."""
    return 0.6 + 0.4 * np.cos(2 * np.pi * (np.asarray(hour_of_day) - 19.5) / 24)


def weekday_factor(day: date) -> float:
    return 0.85 if day.weekday() >= 5 else 1.0


def epoch_ms(moment: datetime | date) -> int:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=int(ms))


def iso_text(ms: int) -> str:
    """Epoch milliseconds -> ISO-8601 UTC text with milliseconds and `Z`."""
    return from_ms(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> np.ndarray:
    """n random lower-case hex strings of 2*nbytes characters, without a Python loop."""
    if n == 0:
        return np.array([], dtype=f"U{2 * nbytes}")
    return np.frombuffer(rng.bytes(n * nbytes).hex().encode(), dtype=f"S{2 * nbytes}").astype(
        f"U{2 * nbytes}"
    )


def uuid_ids(rng: np.random.Generator, n: int) -> pl.Series:
    """n random version-4 UUID strings."""
    h = pl.Series(hex_ids(rng, n, 16), dtype=pl.String)
    variant = pl.Series(np.array(["8", "9", "a", "b"])[rng.integers(0, 4, n)], dtype=pl.String)
    return (
        h.str.slice(0, 8)
        + "-"
        + h.str.slice(8, 4)
        + "-4"
        + h.str.slice(13, 3)
        + "-"
        + variant
        + (h.str.slice(17, 3) + "-" + h.str.slice(20, 12))
    )


def iso_ms(col: str | pl.Expr) -> pl.Expr:
    """Epoch milliseconds -> ISO-8601 UTC with milliseconds and `Z`."""
    expr = pl.col(col) if isinstance(col, str) else col
    return pl.from_epoch(expr, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def lognormal(rng: np.random.Generator, params: tuple[float, float], n: int) -> np.ndarray:
    median, sigma = params
    return median * np.exp(sigma * rng.standard_normal(n))


def sample_times_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """n millisecond offsets into a day following the diurnal curve (rejection sampling)."""
    out = np.empty(0, dtype=np.int64)
    while out.size < n:
        cand = rng.integers(0, DAY_MS, max(2 * n, 64))
        keep = rng.random(cand.size) < diurnal(cand / 3_600_000)
        out = np.concatenate([out, cand[keep]])
    return np.sort(out[:n])
