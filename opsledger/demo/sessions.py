"""One day of shopping: sessions, the requests they make and the product events they emit.

Events, logs and audit logins are all views of this one simulation, which is what ties them
together: a ``begin_checkout`` event carries the ``trace_id`` of the checkout request that
served it, and a shopper who gave up because ``POST /api/checkout`` failed or was slow has
that request in the logs under the same ``user.id`` / ``labels.session_id`` as their events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from opsledger.demo.model import (
    DAY_MS,
    DOWN,
    MAINTENANCE,
    POOL_TIMEOUT_S,
    REGRESSION,
    REGRESSION_5XX,
    REGRESSION_LATENCY,
    SLOW_S,
    TENANT_SHARE,
    TENANTS,
    epoch_ms,
    hex_ids,
    lognormal,
    rng_for,
    sample_times_of_day,
    spec_for,
    uuid_ids,
    weekday_factor,
)
from opsledger.demo.people import BROWSERS, OSES, UA_SHARE, USER_AGENTS
from opsledger.demo.plan import Plan
from opsledger.demo.traffic import event_frame, login_attempts, masked, request_frame

SESSIONS_PER_DAY = 900  # at scale 1.0 on a weekday
SIGNED_IN = 0.45
CATEGORIES = ("kitchen", "garden", "office", "outdoor", "toys", "books", "audio", "lighting")


@dataclass
class DaySim:
    sessions: pl.DataFrame  # one row per session (index = position)
    requests: pl.DataFrame  # one row per HTTP request a shopper caused
    events: pl.DataFrame  # one row per product event, in arrival order
    logins: pl.DataFrame  # one row per login attempt (audit and auth logs)


def products(seed: int, n: int = 150) -> pl.DataFrame:
    rng = rng_for(seed, "catalog")
    price = np.round(np.exp(rng.normal(np.log(35), 0.8, n))) - 0.01
    popularity = 1 / np.arange(1, n + 1) ** 1.1
    return pl.DataFrame(
        {
            "sku": [f"sku-{i:05d}" for i in rng.permutation(np.arange(1000, 1000 + n))],
            "price": np.maximum(price, 2.99),
            "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)],
            "popularity": popularity / popularity.sum(),
        }
    )


def _visitors(plan: Plan, day: int, rng: np.random.Generator) -> pl.DataFrame:
    """Who shops when: session starts follow the diurnal curve; 45 % are signed in."""
    people, d0 = plan.people, plan.day_ms(day)
    n = int(rng.poisson(SESSIONS_PER_DAY * plan.scale * weekday_factor(plan.day_date(day))))
    start = d0 + sample_times_of_day(rng, n)
    tenant = rng.choice(len(TENANTS), size=n, p=TENANT_SHARE)
    signed = rng.random(n) < SIGNED_IN
    person = np.full(n, -1)
    present = people.present(day).copy()
    disabled = people.index(plan.disabled.uid)
    lock_ms = epoch_ms(plan.disabled.locked_at)
    forced = d0 + DAY_MS > lock_ms
    if forced:
        # From the lock on, the disabled account signs in exactly once a day (story.logins_after).
        present[disabled] = False
    for t in range(len(TENANTS)):
        cand = np.flatnonzero(present & (people.tenant == t))
        pick = np.flatnonzero(signed & (tenant == t))
        w = people.weight[cand]
        person[pick] = rng.choice(cand, size=pick.size, p=w / w.sum())
    if forced:
        at = max(lock_ms, d0) + int(rng.integers(2 * 3_600_000, 8 * 3_600_000))
        start = np.append(start, min(at, d0 + DAY_MS - 3_600_000))
        tenant = np.append(tenant, people.tenant[disabled])
        signed = np.append(signed, True)
        person = np.append(person, disabled)
        n += 1
    order = np.argsort(start, kind="stable")
    start, tenant, signed, person = start[order], tenant[order], signed[order], person[order]
    agent = np.where(
        signed, people.agent[np.maximum(person, 0)], rng.choice(len(USER_AGENTS), size=n, p=UA_SHARE)
    )
    uid = masked(people.uid[np.maximum(person, 0)], signed)
    return pl.DataFrame(
        {
            "session_id": uuid_ids(rng, n),
            "distinct_id": uid.fill_null(uuid_ids(rng, n)),
            "uid": uid,
            "tenant": np.array(TENANTS)[tenant],
            "start_ms": start,
            "ip": masked(people.ip[np.maximum(person, 0)], signed),
            "agent": np.array(USER_AGENTS)[agent],
            "browser": np.array(BROWSERS)[agent],
            "os": np.array(OSES)[agent],
        }
    )


@dataclass
class Journeys:
    """Per session (arrays of length n) and per product view (v_*), times in epoch ms."""

    v_session: np.ndarray
    v_t: np.ndarray
    v_product: np.ndarray
    v_status: np.ndarray
    cart: np.ndarray  # added to cart (request made)
    cart_t: np.ndarray
    cart_status: np.ndarray
    product: np.ndarray
    qty: np.ndarray
    dup: np.ndarray  # double-clicked "add to cart"
    dup_t: np.ndarray
    attempt: np.ndarray  # called POST /api/checkout
    att_t: np.ndarray
    co_status: np.ndarray
    co_lat: np.ndarray
    proceed: np.ndarray  # begin_checkout emitted
    begin_t: np.ndarray
    buy: np.ndarray  # tried to pay
    buy_t: np.ndarray
    pay_status: np.ndarray
    pay_lat: np.ndarray
    purchased: np.ndarray
    purchase_t: np.ndarray
    end_t: np.ndarray


def _journeys(plan: Plan, rng: np.random.Generator, visits: pl.DataFrame, catalog: pl.DataFrame) -> Journeys:
    """Browse, then maybe cart -> checkout attempt -> begin_checkout -> purchase."""
    svc = plan.role_service
    n = visits.height
    start = visits["start_ms"].to_numpy()
    signed = visits["uid"].is_not_null().to_numpy()
    n_views = 1 + rng.poisson(1.8, n)
    v_session = np.repeat(np.arange(n), n_views)
    gaps = rng.exponential(35_000, v_session.size).astype(np.int64) + 2_000
    ends = np.cumsum(n_views)
    within = np.cumsum(gaps) - np.repeat(np.concatenate([[0], np.cumsum(gaps)[ends[:-1] - 1]]), n_views)
    v_t = np.repeat(start, n_views) + within
    v_product = rng.choice(catalog.height, size=v_session.size, p=catalog["popularity"].to_numpy())
    catalog_down = np.isin(plan.regime(svc("catalog"), v_t), (DOWN, MAINTENANCE))
    v_status = np.where(catalog_down, 503, np.where(rng.random(v_session.size) < 0.002, 500, 200))
    last = ends - 1
    saw_outage = np.bincount(v_session, weights=(v_status == 503), minlength=n) > 0

    cart = ~saw_outage & (v_status[last] == 200) & (rng.random(n) < np.where(signed, 0.38, 0.3))
    cart_t = v_t[last] + rng.exponential(25_000, n).astype(np.int64) + 1_500
    cart_status = np.where(rng.random(n) < 0.003, 500, 200)
    carted = cart & (cart_status == 200)
    dup = carted & (rng.random(n) < 0.04)

    attempt = carted & (rng.random(n) < 0.75)
    att_t = cart_t + rng.exponential(45_000, n).astype(np.int64) + 3_000
    co_regime = plan.regime(svc("checkout"), att_t)
    slow = co_regime == REGRESSION
    co_lat = np.where(
        slow, lognormal(rng, REGRESSION_LATENCY, n), lognormal(rng, spec_for("checkout").latency, n)
    )
    co_err = rng.random(n) < np.where(slow, REGRESSION_5XX, 0.003)
    co_status = np.where(np.isin(co_regime, (DOWN, MAINTENANCE)), 503, np.where(co_err, 500, 200))
    # Shoppers wait up to SLOW_S happily; beyond that more and more of them give up.
    p_drop = np.clip((co_lat - SLOW_S) / 0.5, 0, 0.9)
    proceed = attempt & (co_status == 200) & (rng.random(n) >= p_drop)
    begin_t = att_t + (co_lat * 1000).astype(np.int64)

    buy = proceed & (rng.random(n) < 0.8)
    buy_t = begin_t + rng.exponential(50_000, n).astype(np.int64) + 10_000
    pay_down = np.isin(plan.regime(svc("payments"), buy_t), (DOWN, MAINTENANCE))
    pay_normal = lognormal(rng, spec_for("payments").latency, n)
    pay_lat = np.where(pay_down, POOL_TIMEOUT_S + rng.random(n) * 0.05, pay_normal)
    pay_status = np.where(pay_down, 503, np.where(rng.random(n) < 0.004, 500, 200))
    purchased = buy & (pay_status == 200)
    purchase_t = buy_t + (pay_lat * 1000).astype(np.int64) + 40

    last_act = np.maximum.reduce(
        [v_t[last], np.where(cart, cart_t, 0), np.where(attempt, begin_t, 0), np.where(buy, purchase_t, 0)]
    )
    return Journeys(
        v_session=v_session,
        v_t=v_t,
        v_product=v_product,
        v_status=v_status,
        cart=cart,
        cart_t=cart_t,
        cart_status=cart_status,
        product=v_product[last],
        qty=1 + (rng.random(n) < 0.2) + (rng.random(n) < 0.05),
        dup=dup,
        dup_t=cart_t + rng.integers(300, 900, n),
        attempt=attempt,
        att_t=att_t,
        co_status=co_status,
        co_lat=co_lat,
        proceed=proceed,
        begin_t=begin_t,
        buy=buy,
        buy_t=buy_t,
        pay_status=pay_status,
        pay_lat=pay_lat,
        purchased=purchased,
        purchase_t=purchase_t,
        end_t=last_act + rng.exponential(60_000, n).astype(np.int64) + 1_000,
    )


def simulate_day(plan: Plan, day: int, catalog: pl.DataFrame) -> DaySim:
    rng = rng_for(plan.seed, "sessions", day)
    svc = plan.role_service
    visits = _visitors(plan, day, rng)
    j = _journeys(plan, rng, visits, catalog)
    n, nv = visits.height, j.v_t.size
    sessions = visits.with_columns(
        end_ms=pl.Series(j.end_t),
        logout=pl.Series(visits["uid"].is_not_null().to_numpy() & (rng.random(n) < 0.55)),
    )
    idx, start = np.arange(n), visits["start_ms"].to_numpy()
    page, view = hex_ids(rng, n, 16), hex_ids(rng, nv, 16)
    t_cart, t_dup, t_att, t_buy, t_login = hex_ids(rng, 5 * n, 16).reshape(5, n)
    sku, price = catalog["sku"].to_numpy(), catalog["price"].to_numpy()
    lat = {
        s: (lambda k, s=s: lognormal(rng, spec_for(s).latency, k)) for s in ("frontend", "catalog", "cart")
    }
    order_status = np.where(j.pay_status == 200, 200, np.where(j.pay_status == 503, 503, 502))
    c, a, b = j.cart, j.attempt, j.buy
    pages = np.char.add("/products/", sku[j.v_product])
    apis = np.char.add("/api/products/", sku[j.v_product])
    parts = [
        request_frame(start, svc("frontend"), "GET", "/", 200, lat["frontend"](n), idx, page, "page"),
        request_frame(
            j.v_t - 150, svc("frontend"), "GET", pages, 200, lat["frontend"](nv), j.v_session, view, "page"
        ),
        request_frame(
            j.v_t, svc("catalog"), "GET", apis, j.v_status, lat["catalog"](nv), j.v_session, view, "view"
        ),
        request_frame(
            j.cart_t[c],
            svc("cart"),
            "POST",
            "/api/cart/items",
            j.cart_status[c],
            lat["cart"](c.sum()),
            idx[c],
            t_cart[c],
            "cart",
        ),
        request_frame(
            j.dup_t[j.dup],
            svc("cart"),
            "POST",
            "/api/cart/items",
            200,
            lat["cart"](j.dup.sum()),
            idx[j.dup],
            t_dup[j.dup],
            "cart",
        ),
        request_frame(
            j.att_t[a],
            svc("checkout"),
            "POST",
            "/api/checkout",
            j.co_status[a],
            j.co_lat[a],
            idx[a],
            t_att[a],
            "checkout",
        ),
        request_frame(
            j.buy_t[b],
            svc("checkout"),
            "POST",
            "/api/orders",
            order_status[b],
            j.pay_lat[b] + 0.04,
            idx[b],
            t_buy[b],
            "order",
        ),
        request_frame(
            j.buy_t[b] + 10,
            svc("payments"),
            "POST",
            "/api/payments/charge",
            j.pay_status[b],
            j.pay_lat[b],
            idx[b],
            t_buy[b],
            "charge",
        ),
    ]
    requests = pl.concat(parts)
    ri = np.maximum(requests["session"].to_numpy(), 0)
    requests = requests.with_columns(
        uid=sessions["uid"].gather(ri),
        session_id=sessions["session_id"].gather(ri),
        tenant=sessions["tenant"].gather(ri),
    )
    logins = login_attempts(plan, day, rng, sessions, t_login)
    auth = logins.select(
        "ts_ms",
        service=pl.lit(svc("auth")),
        method=pl.lit("POST"),
        path=pl.lit("/api/auth/login"),
        status=pl.when(pl.col("outcome") == "success").then(200).otherwise(401).cast(pl.Int32),
        duration_s=pl.Series(lognormal(rng, spec_for("auth").latency, logins.height)),
        session="session",
        trace_id="trace_id",
        kind=pl.lit("login"),
        uid="uid",
        session_id="session_id",
        tenant="tenant",
    )
    requests = pl.concat([requests, auth]).sort("ts_ms", maintain_order=True)
    requests = requests.with_columns(span_id=pl.Series(hex_ids(rng, requests.height, 8), dtype=pl.String))

    ok, p, bought = j.v_status == 200, j.proceed, j.purchased
    carted = j.cart & (j.cart_status == 200)
    orders = np.char.add("ord-", hex_ids(rng, n, 6))
    events = pl.concat(
        [
            event_frame(start, "$pageview", idx, page, -1, 0),
            event_frame(j.v_t[ok], "view_item", j.v_session[ok], view[ok], j.v_product[ok], 1),
            event_frame(
                j.cart_t[carted], "add_to_cart", idx[carted], t_cart[carted], j.product[carted], j.qty[carted]
            ),
            event_frame(
                j.dup_t[j.dup], "add_to_cart", idx[j.dup], t_dup[j.dup], j.product[j.dup], j.qty[j.dup]
            ),
            event_frame(j.begin_t[p], "begin_checkout", idx[p], t_att[p], j.product[p], j.qty[p]),
            event_frame(
                j.purchase_t[bought],
                "purchase",
                idx[bought],
                t_buy[bought],
                j.product[bought],
                j.qty[bought],
                orders[bought],
            ),
        ]
    )
    k = events.height
    prod = events["product"].to_numpy()
    # Client clocks drift and batches arrive late: the export is in arrival order, not event order.
    skew = np.where(rng.random(k) < 0.02, -rng.integers(200, 3_000, k), 0)
    late = rng.exponential(1_500, k).astype(np.int64) + np.where(rng.random(k) < 0.02, 60_000, 0)
    events = events.with_columns(
        ts_ms=pl.max_horizontal(pl.col("ts_ms") + skew, pl.lit(plan.day_ms(day))),
        arrival_ms=pl.col("ts_ms") + late,
        uuid=uuid_ids(rng, k),
        price=pl.Series(price[np.maximum(prod, 0)]).scatter(np.flatnonzero(prod < 0), None),
        sku=masked(sku[np.maximum(prod, 0)], prod >= 0),
    ).sort("arrival_ms", maintain_order=True)
    return DaySim(sessions=sessions, requests=requests, events=events, logins=logins)
