"""`logs/D.jsonl`: the services' ECS JSON logs (nested-object form), one line per event.

Request lines come from the day's shopping simulation (so their ``trace.id``, ``user.id`` and
``labels.session_id`` match the product events); background jobs, restarts, the outage's
failing health checks and the maintenance window add the lines a real service would write.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from opsledger.demo.model import (
    DAY_MS,
    ECS_VERSION,
    ENVIRONMENT,
    REGRESSION,
    SLOW_S,
    epoch_ms,
    iso_ms,
    rng_for,
)
from opsledger.demo.plan import Plan

SLOW_MS = int(SLOW_S * 1000)

# service:status:in-regression -> (error.type, error.message, raised in: file, line, function, source)
ERRORS: dict[str, tuple[str, str, str, int, str, str]] = {
    "checkout:500:1": (
        "sqlalchemy.exc.TimeoutError",
        "QueuePool limit of size 10 overflow 5 reached, connection timed out, timeout 3.00",
        "checkout/pricing/tax.py",
        88,
        "price_cart",
        "rate = session.execute(select(TaxRate).where(TaxRate.region == line.region)).scalar_one()",
    ),
    "checkout:500:0": (
        "KeyError",
        "'shipping_address'",
        "checkout/api/checkout.py",
        180,
        "create_checkout",
        "addr = body['shipping_address']",
    ),
    "checkout:503:0": (
        "httpx.HTTPStatusError",
        "Server error '503 Service Unavailable' for url 'http://payments:8080/api/payments/charge'",
        "checkout/api/orders.py",
        97,
        "place_order",
        "resp.raise_for_status()",
    ),
    "checkout:502:0": (
        "httpx.HTTPStatusError",
        "Server error '500 Internal Server Error' for url 'http://payments:8080/api/payments/charge'",
        "checkout/api/orders.py",
        97,
        "place_order",
        "resp.raise_for_status()",
    ),
    "payments:503:0": (
        "psycopg_pool.PoolTimeout",
        "couldn't get a connection after 5.00 sec",
        "payments/db.py",
        41,
        "connection",
        "conn = pool.getconn(timeout=5.0)",
    ),
    "payments:500:0": (
        "stripe.error.APIConnectionError",
        "Network error communicating with the card processor (3 retries exhausted)",
        "payments/processor.py",
        133,
        "charge",
        "return client.charges.create(**req)",
    ),
    "catalog:503:0": (
        "MaintenanceMode",
        "service unavailable: planned maintenance in progress",
        "catalog/middleware.py",
        22,
        "guard",
        "raise MaintenanceMode()",
    ),
    "catalog:500:0": (
        "ValueError",
        "invalid literal for int() with base 10: 'undefined'",
        "catalog/api/products.py",
        64,
        "get_product",
        "page = int(args['page'])",
    ),
    "frontend:500:0": (
        "jinja2.exceptions.UndefinedError",
        "'None' has no attribute 'slug'",
        "frontend/views.py",
        73,
        "render_page",
        "return template.render(page=page)",
    ),
    "auth:500:0": (
        "jwt.exceptions.PyJWKClientError",
        "Fail to fetch data from the url, err: timed out",
        "auth/tokens.py",
        58,
        "issue_token",
        "key = jwks.get_signing_key(kid)",
    ),
    "cart:500:0": (
        "redis.exceptions.ConnectionError",
        "Error 104 while writing to socket. Connection reset by peer.",
        "cart/store.py",
        51,
        "add_item",
        "pipe.execute()",
    ),
}


def _stack(kind: str, message: str, file: str, line: int, func: str, code: str) -> str:
    frame = f'  File "/app/{file}", line {line}, in {func}\n    {code}'
    return f"Traceback (most recent call last):\n{frame}\n{kind}: {message}"


GENERIC_ERROR = (
    "RuntimeError",
    "unexpected error while handling the request",
    "server.py",
    118,
    "handle",
    "return await handler(request)",
)
JOBS = {
    "frontend": ("rendered sitemap with {n} URLs", "warmed static asset cache ({n} files)"),
    "catalog": ("refreshed product index: {n} products", "imported price feed ({n} changes)"),
    "cart": ("expired {n} abandoned carts",),
    "checkout": ("reconciled {n} pending orders",),
    "payments": ("submitted settlement batch ({n} charges)",),
    "auth": ("purged {n} expired sessions", "refreshed JWKS cache ({n} keys)"),
}


def _encode(frame: pl.DataFrame, *fields: pl.Expr) -> pl.DataFrame:
    line = pl.struct(*fields).struct.json_encode()
    # json_encode writes absent values as null; ECS omits the field instead.
    line = line.str.replace('"user":{"id":null},', "", literal=True)
    line = line.str.replace(',"session_id":null', "", literal=True)
    return frame.select("ts_ms", order_ms="ts_ms", line=line)


def _common(level: pl.Expr, logger: pl.Expr, message: pl.Expr) -> list[pl.Expr]:
    return [
        iso_ms("ts_ms").alias("@timestamp"),
        pl.struct(level.alias("level"), logger.alias("logger")).alias("log"),
        message.alias("message"),
        pl.struct(pl.lit(ECS_VERSION).alias("version")).alias("ecs"),
        pl.struct(pl.col("service").alias("name"), pl.lit(ENVIRONMENT).alias("environment")).alias("service"),
    ]


def request_lines(plan: Plan, req: pl.DataFrame) -> pl.DataFrame:
    """One line per served request (``sessions.simulate_day`` and ``internal_requests`` rows)."""
    regime = np.zeros(req.height, dtype=np.int8)
    services = req["service"].to_numpy()
    ts = req["ts_ms"].to_numpy()
    for s in np.unique(services):
        m = services == s
        regime[m] = plan.regime(s, ts[m])
    ms = (pl.col("duration_s") * 1000).round(0).cast(pl.Int64).cast(pl.String)
    req = req.with_columns(
        key=pl.concat_str(
            "service",
            pl.lit(":"),
            pl.col("status").cast(pl.String),
            pl.lit(":"),
            pl.Series((regime == REGRESSION).astype(int)).cast(pl.String),
        ),
        ms=ms,
    )
    level = (
        pl.when(pl.col("status") >= 500)
        .then(pl.lit("error"))
        .when((pl.col("status") == 401) | (pl.col("duration_s") * 1000 > SLOW_MS))
        .then(pl.lit("warn"))
        .otherwise(pl.lit("info"))
    )
    err = {k: (v[0], v[1], _stack(*v)) for k, v in ERRORS.items()}
    generic = (GENERIC_ERROR[0], GENERIC_ERROR[1], _stack(*GENERIC_ERROR))
    err_type = pl.col("key").replace_strict({k: v[0] for k, v in err.items()}, default=generic[0])
    err_msg = pl.col("key").replace_strict({k: v[1] for k, v in err.items()}, default=generic[1])
    err_stack = pl.col("key").replace_strict({k: v[2] for k, v in err.items()}, default=generic[2])
    request = pl.concat_str("method", pl.lit(" "), "path")
    message = (
        pl.when(pl.col("status") >= 500)
        .then(
            pl.concat_str(
                request, pl.lit(" failed with "), pl.col("status").cast(pl.String), pl.lit(": "), err_msg
            )
        )
        .when(pl.col("status") == 401)
        .then(pl.concat_str(pl.lit("login failed for user '"), "uid", pl.lit("': invalid password")))
        .when(pl.col("duration_s") * 1000 > SLOW_MS)
        .then(
            pl.concat_str(
                pl.lit("slow request: "),
                request,
                pl.lit(" took "),
                "ms",
                pl.lit(f" ms (threshold {SLOW_MS} ms)"),
            )
        )
        .otherwise(
            pl.concat_str(
                request, pl.lit(" "), pl.col("status").cast(pl.String), pl.lit(" in "), "ms", pl.lit(" ms")
            )
        )
    )
    user = pl.when(pl.col("status") == 401).then(None).otherwise(pl.col("uid"))
    fields = [
        *_common(level, pl.concat_str("service", pl.lit(".http")), message),
        pl.struct(pl.col("trace_id").alias("id")).alias("trace"),
        pl.struct(pl.col("span_id").alias("id")).alias("span"),
        pl.struct(user.alias("id")).alias("user"),
        pl.struct(pl.col("tenant").alias("tenant_id"), pl.col("session_id")).alias("labels"),
        pl.struct(
            pl.struct(pl.col("method")).alias("request"),
            pl.struct(pl.col("status").alias("status_code")).alias("response"),
        ).alias("http"),
        pl.struct(pl.col("path")).alias("url"),
        pl.struct((pl.col("duration_s") * 1e9).round(0).cast(pl.Int64).alias("duration")).alias("event"),
    ]
    failed = pl.col("status") >= 500
    error = pl.struct(err_type.alias("type"), err_msg.alias("message"), err_stack.alias("stack_trace")).alias(
        "error"
    )
    return pl.concat([_encode(req.filter(~failed), *fields), _encode(req.filter(failed), *fields, error)])


def service_lines(plan: Plan, day: int) -> pl.DataFrame:
    """Background jobs, restarts, the outage's health checks and the maintenance window."""
    rng = rng_for(plan.seed, "service-logs", day)
    d0, d1 = plan.day_ms(day), plan.day_ms(day + 1)
    rows: list[pl.DataFrame] = []

    def add(ts, service: str, level: str, logger: str, message, error: tuple[str, str] | None = None) -> None:
        ts = np.atleast_1d(np.asarray(ts, dtype=np.int64))
        frame = pl.DataFrame({"ts_ms": ts, "service": [service] * ts.size, "message": message})
        frame = frame.with_columns(level=pl.lit(level), logger=pl.lit(f"{service}.{logger}"))
        fields = _common(pl.col("level"), pl.col("logger"), pl.col("message"))
        if error:
            fields.append(
                pl.struct(
                    *(pl.lit(v).alias(k) for k, v in zip(("type", "message"), error, strict=True))
                ).alias("error")
            )
        rows.append(_encode(frame.filter(pl.col("ts_ms").is_between(d0, d1 - 1)), *fields))

    for s in plan.services:
        jobs = JOBS.get(s, ("completed background job ({n} items)",))
        ts = d0 + np.arange(0, DAY_MS, 10 * 60_000) + rng.integers(0, 60_000, DAY_MS // 600_000)
        tpl = np.array(jobs)[rng.integers(0, len(jobs), ts.size)]
        n = rng.integers(1, 400, ts.size)
        msgs = pl.Series(tpl).str.replace("{n}", pl.Series(n).cast(pl.String), literal=True)
        add(ts, s, "info", "worker", msgs)
        retry = ts[rng.random(ts.size) < 0.03] + 1_500
        add(retry, s, "warn", "worker", ["retrying downstream call (attempt 2/3) after timeout"] * retry.size)

    for d in plan.deploys:
        t = epoch_ms(d.time)
        add(t - 3_000, d.service, "info", "app", ["received SIGTERM, draining connections"])
        add(t, d.service, "info", "app", [f"starting {d.service} {d.version} (commit {d.commit[:12]})"])
        add(t + 2_000, d.service, "info", "app", [f"{d.service} ready: listening on 0.0.0.0:8080"])

    o = plan.outage
    o0, o1 = epoch_ms(o.start), epoch_ms(o.end)
    add(
        o0,
        o.service,
        "error",
        "db",
        ["payments-db primary unreachable, failing over to replica"],
        (
            "psycopg.OperationalError",
            'connection to server at "payments-db" (10.20.3.7), port 5432 failed: Connection refused',
        ),
    )
    # The crashing process leaves a torn, half-written line, as real log files do; ingest must
    # quarantine it with its position rather than drop it.
    rows.append(
        rows[-1]
        .with_columns(pl.col("line").str.slice(0, 120), ts_ms=pl.col("ts_ms") + 1)
        .with_columns(order_ms=pl.col("ts_ms"))
    )
    checks = np.arange(o0 + 15_000, o1, 30_000)
    add(
        checks,
        o.service,
        "error",
        "health",
        ["health check failed: database connection pool exhausted (20/20 in use)"] * checks.size,
        ("psycopg_pool.PoolTimeout", "couldn't get a connection after 5.00 sec"),
    )
    add(o1 - 1_000, o.service, "warn", "app", ["restarting after failed health checks (on-call action)"])
    add(o1 + 2_000, o.service, "info", "app", ["database connection pool recovered (20 connections)"])

    mnt = plan.maintenance
    m0, m1 = epoch_ms(mnt.start), epoch_ms(mnt.end)
    add(m0, mnt.service, "warn", "app", [f"entering maintenance mode: {mnt.reason}"])
    add(m1, mnt.service, "info", "app", ["leaving maintenance mode; restarting"])
    return pl.concat(rows)
