"""Request and event rows shared by the simulation: frame builders, machine traffic, sign-ins.

A request row is what a service would log about one HTTP request; ``session`` is the index
of the shopping session behind it, or -1 when there is none (machine traffic, failed logins).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from opsledger.demo.model import (
    DAY_MS,
    DEPENDENCY_DOWN,
    DOWN,
    MAINTENANCE,
    POOL_TIMEOUT_S,
    REGRESSION,
    REGRESSION_5XX,
    REGRESSION_LATENCY,
    TENANT_SHARE,
    TENANTS,
    epoch_ms,
    hex_ids,
    lognormal,
    rng_for,
    spec_for,
    uuid_ids,
)
from opsledger.demo.plan import Plan

ATTACKER_AGENT = "python-requests/2.32.3"
INTERNAL = {
    # Machine traffic with no shopper behind it: crawlers, partner feeds, webhooks, cron jobs.
    "frontend": ("GET", "/sitemap.xml"),
    "catalog": ("GET", "/api/products?page=1"),
    "cart": ("GET", "/api/cart/abandoned"),
    "checkout": ("POST", "/api/orders/reconcile"),
    "payments": ("POST", "/api/payments/webhook"),
    "auth": ("POST", "/api/auth/token"),
}
INTERNAL_EVERY_MS = 180_000
STRINGS = {k: pl.String for k in ("service", "method", "path", "trace_id", "kind", "event", "order_id")}


def masked(values: np.ndarray, keep: np.ndarray) -> pl.Series:
    """``values`` as strings, null where ``keep`` is false."""
    return pl.Series(values, dtype=pl.String).scatter(np.flatnonzero(~keep), None)


def request_frame(ts, service, method, path, status, seconds, session, trace, kind) -> pl.DataFrame:
    ts = np.asarray(ts, dtype=np.int64)
    n = ts.size
    return pl.DataFrame(
        {
            "ts_ms": ts,
            "service": [service] * n,
            "method": [method] * n,
            "path": np.broadcast_to(np.asarray(path, dtype=str), (n,)),
            "status": np.broadcast_to(np.asarray(status), (n,)).astype(np.int32),
            "duration_s": np.asarray(seconds, dtype=np.float64),
            "session": np.asarray(session, dtype=np.int64),
            "trace_id": np.asarray(trace, dtype=str),
            "kind": [kind] * n,
        },
        schema_overrides=STRINGS,
    )


def event_frame(ts, event, session, trace, product, quantity, order_id=None) -> pl.DataFrame:
    ts = np.asarray(ts, dtype=np.int64)
    n = ts.size
    return pl.DataFrame(
        {
            "ts_ms": ts,
            "event": [event] * n,
            "session": np.asarray(session, dtype=np.int64),
            "trace_id": np.asarray(trace, dtype=str),
            "product": np.broadcast_to(np.asarray(product, dtype=np.int64), (n,)),
            "quantity": np.broadcast_to(np.asarray(quantity, dtype=np.int64), (n,)),
            "order_id": order_id if order_id is not None else [None] * n,
        },
        schema_overrides=STRINGS,
    )


def internal_requests(plan: Plan, day: int) -> pl.DataFrame:
    """Steady machine-to-service requests, so every service logs its state even with no shoppers."""
    rng = rng_for(plan.seed, "internal", day)
    d0 = plan.day_ms(day)
    slots = DAY_MS // INTERNAL_EVERY_MS
    parts = []
    for s in plan.services:
        method, path = INTERNAL.get(s, ("GET", f"/api/{s}/status"))
        ts = np.sort(d0 + np.arange(slots) * INTERNAL_EVERY_MS + rng.integers(0, INTERNAL_EVERY_MS, slots))
        regime = plan.regime(s, ts)
        slow = regime == REGRESSION
        lat = np.where(
            slow, lognormal(rng, REGRESSION_LATENCY, slots), lognormal(rng, spec_for(s).latency, slots)
        )
        down = (regime == DOWN) | (regime == MAINTENANCE) | ((regime == DEPENDENCY_DOWN) & (method == "POST"))
        err = rng.random(slots) < np.where(slow, REGRESSION_5XX, 0.002)
        status = np.where(down, 503, np.where(err, 500, 200))
        lat = np.where(down, POOL_TIMEOUT_S + rng.random(slots) * 0.05, lat)
        lat = np.where(regime == MAINTENANCE, 0.004, lat)
        trace = hex_ids(rng, slots, 16)
        parts.append(request_frame(ts, s, method, path, status, lat, np.full(slots, -1), trace, "internal"))
    frame = pl.concat(parts)
    tenants = np.array(TENANTS)[rng.choice(len(TENANTS), size=frame.height, p=TENANT_SHARE)]
    return frame.with_columns(
        uid=pl.lit(None, dtype=pl.String),
        session_id=pl.lit(None, dtype=pl.String),
        tenant=pl.Series(tenants, dtype=pl.String),
        span_id=pl.Series(hex_ids(rng, frame.height, 8), dtype=pl.String),
    )


def login_attempts(
    plan: Plan, day: int, rng: np.random.Generator, sessions: pl.DataFrame, trace: np.ndarray
) -> pl.DataFrame:
    """One success per signed-in session (4 % after a mistyped password), plus the attack."""
    d0 = plan.day_ms(day)
    idx = np.flatnonzero(sessions["uid"].is_not_null().to_numpy())
    k = idx.size
    s = sessions[idx]
    ok_ts = np.maximum(s["start_ms"].to_numpy() - rng.integers(3_000, 8_000, k), d0)
    typo = rng.random(k) < 0.04
    who = s.select("uid", "ip", "agent", "tenant")
    ok = who.with_columns(
        ts_ms=pl.Series(ok_ts),
        outcome=pl.lit("success"),
        session=pl.Series(idx, dtype=pl.Int64),
        session_id=s["session_id"],
        trace_id=pl.Series(trace[idx], dtype=pl.String),
    )
    bad = who.with_columns(
        ts_ms=pl.Series(np.maximum(ok_ts - rng.integers(10_000, 40_000, k), d0)),
        outcome=pl.lit("failure"),
        session=pl.lit(-1, dtype=pl.Int64),
        session_id=pl.lit(None, dtype=pl.String),
        trace_id=pl.Series(hex_ids(rng, k, 16), dtype=pl.String),
    ).filter(pl.Series(typo))
    frames = [ok, bad]
    brute = plan.brute
    b0, b1 = epoch_ms(brute.start), epoch_ms(brute.end)
    if d0 <= b0 < d0 + DAY_MS:
        m = brute.count
        fail_ts = np.sort(b0 + rng.integers(0, b1 - b0, m))
        fail_ts[0], fail_ts[-1] = b0, b1
        tenant = TENANTS[plan.people.tenant[plan.people.index(brute.target)]]
        attack = pl.DataFrame(
            {
                "uid": [brute.target] * (m + 1),
                "ip": [brute.ip] * (m + 1),
                "agent": [ATTACKER_AGENT] * (m + 1),
                "tenant": [tenant] * (m + 1),
                "ts_ms": np.append(fail_ts, epoch_ms(brute.success_time)),
                "outcome": ["failure"] * m + ["success"],
                "session": np.full(m + 1, -1, dtype=np.int64),
                "session_id": pl.Series([None] * m, dtype=pl.String).append(uuid_ids(rng, 1)),
                "trace_id": hex_ids(rng, m + 1, 16),
            },
            schema_overrides={"trace_id": pl.String},
        )
        frames.append(attack)
    return (
        pl.concat([f.select(frames[0].columns) for f in frames])
        .with_columns(reason=pl.when(pl.col("outcome") == "failure").then(pl.lit("invalid_password")))
        .sort("ts_ms", maintain_order=True)
    )
