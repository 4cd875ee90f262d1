"""`audit/D.jsonl`: the shop's audit trail as generic JSON lines.

``{"ts", "actor", "action", "resource", "outcome", "tenant_id", "session_id", "source_ip",
"user_agent", "details"}`` for sign-ins and sign-outs, role grants and revokes, deploys and
the maintenance window. Platform actions (deploys, maintenance) belong to no tenant or
session, so those fields are ``null`` there.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from opsledger.demo.model import BASE_DN, TENANTS, epoch_ms, iso_ms, rng_for, uuid_ids
from opsledger.demo.people import USER_AGENTS
from opsledger.demo.plan import Plan
from opsledger.demo.sessions import DaySim

CI_IP = "10.20.0.15"
CI_AGENT = "argocd/v2.13.3+a1b2c3d"
APP = "app/shop"

SCHEMA = {
    "ts_ms": pl.Int64,
    "actor": pl.String,
    "action": pl.String,
    "resource": pl.String,
    "outcome": pl.String,
    "tenant_id": pl.String,
    "session_id": pl.String,
    "source_ip": pl.String,
    "user_agent": pl.String,
}


def _encode(frame: pl.DataFrame, details: pl.Expr) -> pl.DataFrame:
    frame = frame.cast(SCHEMA)
    line = pl.struct(
        iso_ms("ts_ms").alias("ts"),
        *(pl.col(c) for c in SCHEMA if c != "ts_ms"),
        details.alias("details"),
    ).struct.json_encode()
    return frame.select("ts_ms", order_ms="ts_ms", line=line)


def lines(plan: Plan, day: int, sim: DaySim) -> pl.DataFrame:
    d0, d1 = plan.day_ms(day), plan.day_ms(day + 1)
    rng = rng_for(plan.seed, "audit", day)
    parts = []

    logins = sim.logins.select(
        "ts_ms",
        actor="uid",
        action=pl.lit("login"),
        resource=pl.lit(APP),
        outcome="outcome",
        tenant_id="tenant",
        session_id="session_id",
        source_ip="ip",
        user_agent="agent",
        reason="reason",
    )
    ok = pl.col("outcome") == "success"
    parts.append(_encode(logins.filter(ok), pl.struct(method=pl.lit("password"))))
    parts.append(_encode(logins.filter(~ok), pl.struct(method=pl.lit("password"), reason=pl.col("reason"))))

    out = sim.sessions.filter("logout").select(
        ts_ms="end_ms",
        actor="uid",
        action=pl.lit("logout"),
        resource=pl.lit(APP),
        outcome=pl.lit("success"),
        tenant_id="tenant",
        session_id="session_id",
        source_ip="ip",
        user_agent="agent",
    )
    parts.append(_encode(out, pl.struct(reason=pl.lit("user"))))

    people = plan.people
    changes = [c for c in plan.role_changes if d0 <= c.time_ms < d1]
    if changes:
        actor_idx = [people.index(c.actor) for c in changes]
        target_idx = [people.index(c.target) for c in changes]
        frame = pl.DataFrame(
            {
                "ts_ms": [c.time_ms for c in changes],
                "actor": [c.actor for c in changes],
                "action": [c.action for c in changes],
                "resource": [f"cn={c.role}s,ou=groups,{BASE_DN}" for c in changes],
                "outcome": ["success"] * len(changes),
                "tenant_id": [TENANTS[people.tenant[i]] for i in target_idx],
                "session_id": uuid_ids(rng, len(changes)),
                "source_ip": people.ip[actor_idx],
                "user_agent": np.array(USER_AGENTS)[people.agent[actor_idx]],
                "role": [c.role for c in changes],
                "target": [c.target for c in changes],
            }
        )
        parts.append(_encode(frame, pl.struct("role", "target")))

    deploys = [d for d in plan.deploys if d0 <= epoch_ms(d.time) < d1]
    if deploys:
        frame = pl.DataFrame(
            {
                "ts_ms": [epoch_ms(d.time) for d in deploys],
                "actor": [d.actor for d in deploys],
                "action": ["deploy"] * len(deploys),
                "resource": [d.service for d in deploys],
                "outcome": ["success"] * len(deploys),
                "tenant_id": [None] * len(deploys),
                "session_id": [None] * len(deploys),
                "source_ip": [CI_IP] * len(deploys),
                "user_agent": [CI_AGENT] * len(deploys),
                "commit_sha": [d.commit for d in deploys],
                "version": [d.version for d in deploys],
                "approver": pl.Series([d.approver for d in deploys], dtype=pl.String),
            }
        )
        details = pl.struct("commit_sha", "version", environment=pl.lit("production"), approver="approver")
        parts.append(_encode(frame, details))

    mnt = plan.maintenance
    on_call = sorted(people.roles["operator"])[0]
    stamps = [(epoch_ms(mnt.start), "maintenance.start"), (epoch_ms(mnt.end), "maintenance.end")]
    stamps = [(t, a) for t, a in stamps if d0 <= t < d1]
    if stamps:
        frame = pl.DataFrame(
            {
                "ts_ms": [t for t, _ in stamps],
                "actor": [str(on_call)] * len(stamps),
                "action": [a for _, a in stamps],
                "resource": [mnt.service] * len(stamps),
                "outcome": ["success"] * len(stamps),
                "tenant_id": [None] * len(stamps),
                "session_id": [None] * len(stamps),
                "source_ip": [CI_IP] * len(stamps),
                "user_agent": [CI_AGENT] * len(stamps),
            }
        )
        details = pl.struct(reason=pl.lit(mnt.reason), ticket=pl.lit(f"CHG-{1000 + plan.seed % 9000}"))
        parts.append(_encode(frame, details))
    return pl.concat(parts)
