"""`events/D.jsonl`: product analytics events in PostHog's export shape.

``{"timestamp", "distinct_id", "event", "properties": {"$session_id", "tenant_id", "trace_id",
...}, "uuid"}``. Signed-in shoppers are identified by their directory uid, anonymous ones by
a random id. Lines are in arrival order, which is not quite event order (late batches and
client clock skew), as in a real export.
"""

from __future__ import annotations

import polars as pl

from opsledger.demo.model import iso_ms
from opsledger.demo.sessions import DaySim

PAGES = {
    "$pageview": "/",
    "view_item": None,  # the product page
    "add_to_cart": "/cart",
    "begin_checkout": "/checkout",
    "purchase": "/checkout/confirmation",
}
EXTRA = {
    "$pageview": ("$pathname",),
    "view_item": ("product_id", "price", "currency"),
    "add_to_cart": ("product_id", "price", "quantity", "currency"),
    "begin_checkout": ("product_id", "price", "quantity", "value", "currency"),
    "purchase": ("product_id", "price", "quantity", "order_id", "revenue", "currency"),
}


def lines(sim: DaySim) -> pl.DataFrame:
    sessions = sim.sessions.with_row_index("session").with_columns(pl.col("session").cast(pl.Int64))
    ev = sim.events.join(sessions, on="session", how="left", maintain_order="left")
    page = pl.col("event").replace_strict({k: v for k, v in PAGES.items() if v}, default=None)
    path = pl.coalesce(page, pl.concat_str(pl.lit("/products/"), "sku"))
    ev = ev.with_columns(
        **{
            "$pathname": path,
            "$current_url": pl.concat_str(pl.lit("https://"), "tenant", pl.lit(".northwind.example"), path),
            "product_id": pl.col("sku"),
            "currency": pl.lit("USD"),
            "value": (pl.col("price") * pl.col("quantity")).round(2),
            "revenue": (pl.col("price") * pl.col("quantity")).round(2),
        }
    )
    parts = []
    for name, extra in EXTRA.items():
        props = pl.struct(
            pl.col("session_id").alias("$session_id"),
            pl.col("tenant").alias("tenant_id"),
            "trace_id",
            "$current_url",
            pl.col("browser").alias("$browser"),
            pl.col("os").alias("$os"),
            pl.lit("web").alias("$lib"),
            *extra,
        )
        line = pl.struct(
            iso_ms("ts_ms").alias("timestamp"), "distinct_id", "event", props.alias("properties"), "uuid"
        ).struct.json_encode()
        parts.append(ev.filter(pl.col("event") == name).select("ts_ms", order_ms="arrival_ms", line=line))
    return pl.concat(parts)
