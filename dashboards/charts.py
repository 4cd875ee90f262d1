"""Plotly figure builders: pure functions from a query result to a figure, so they test without Streamlit."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

QUANTILES = {"latency_p50_ms": "p50", "latency_p95_ms": "p95", "latency_p99_ms": "p99"}
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend_title_text": "", "hovermode": "x unified"}


def traffic_over_time(series: pl.DataFrame, grain: str) -> go.Figure:
    fig = px.line(series, x="bucket", y="requests", color="service", title=f"Requests per {grain}")
    return fig.update_layout(xaxis_title=None, yaxis_title="requests", **_LAYOUT)


def error_ratio_over_time(series: pl.DataFrame, grain: str) -> go.Figure:
    fig = px.line(series, x="bucket", y="error_ratio", color="service", title=f"Error ratio per {grain}")
    return fig.update_layout(xaxis_title=None, yaxis_title="5xx / requests", yaxis_tickformat=".2%", **_LAYOUT)


def latency_over_time(series: pl.DataFrame, grain: str) -> go.Figure:
    """p50/p95/p99 per service: colour is the service, dash is the quantile."""
    long = series.select("service", "bucket", *QUANTILES).unpivot(
        index=["service", "bucket"], variable_name="quantile", value_name="latency_ms"
    )
    long = long.with_columns(pl.col("quantile").replace_strict(QUANTILES))
    fig = px.line(
        long,
        x="bucket",
        y="latency_ms",
        color="service",
        line_dash="quantile",
        category_orders={"quantile": list(QUANTILES.values())},
        title=f"Latency per {grain} (p50 / p95 / p99)",
    )
    return fig.update_layout(xaxis_title=None, yaxis_title="ms", **_LAYOUT)
