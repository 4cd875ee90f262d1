"""Plotly figure builders: pure functions from a query result to a figure, so they test without Streamlit."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

QUANTILES = {"latency_p50_ms": "p50", "latency_p95_ms": "p95", "latency_p99_ms": "p99"}
# Axes start at zero so a small wobble in a flat series does not read as an incident.
_LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "legend_title_text": "",
    "hovermode": "x unified",
    "yaxis_rangemode": "tozero",
}


def traffic_over_time(series: pl.DataFrame, grain: str) -> go.Figure:
    fig = px.line(series, x="bucket", y="requests", color="service", title=f"Requests per {grain}")
    return fig.update_layout(xaxis_title=None, yaxis_title="requests", **_LAYOUT)


def error_ratio_over_time(series: pl.DataFrame, grain: str) -> go.Figure:
    fig = px.line(series, x="bucket", y="error_ratio", color="service", title=f"Error ratio per {grain}")
    return fig.update_layout(
        xaxis_title=None, yaxis_title="5xx / requests", yaxis_tickformat=".2%", **_LAYOUT
    )


def latency_over_time(series: pl.DataFrame, grain: str) -> go.Figure:
    """One panel per quantile (p50, p95, p99), a line per service; each panel has its own scale
    because a p99 in seconds would flatten a p50 in milliseconds."""
    long = series.select("service", "bucket", *QUANTILES).unpivot(
        index=["service", "bucket"], variable_name="quantile", value_name="latency_ms"
    )
    long = long.with_columns(pl.col("quantile").replace_strict(QUANTILES))
    fig = px.line(
        long,
        x="bucket",
        y="latency_ms",
        color="service",
        facet_row="quantile",
        category_orders={"quantile": list(QUANTILES.values())},
        title=f"Latency per {grain} (ms)",
        height=640,
    )
    fig.update_yaxes(matches=None, title=None, rangemode="tozero")
    fig.for_each_annotation(lambda a: a.update(text=a.text.removeprefix("quantile=")))
    return fig.update_layout(**_LAYOUT).update_xaxes(title=None)


def funnel(steps: pl.DataFrame) -> go.Figure:
    fig = go.Figure(
        go.Funnel(
            y=[f"{step}. {event}" for step, event in zip(steps["step"], steps["event"], strict=True)],
            x=steps["count"].to_list(),
            textinfo="value+percent initial+percent previous",
        )
    )
    return fig.update_layout(title="People reaching each step", margin=_LAYOUT["margin"])


def funnel_breakdown(rows: pl.DataFrame, prop: str) -> go.Figure:
    """Grouped bars: per step, one bar per breakdown value (units reaching the step)."""
    labelled = rows.with_columns(
        pl.format("{}. {}", "step", "event").alias("Step"),
        pl.col("breakdown").fill_null("(none)").alias(prop),
    )
    fig = px.bar(labelled, x="Step", y="count", color=prop, barmode="group", title=f"People by {prop}")
    return fig.update_layout(
        xaxis_title=None, yaxis_title="people", **(_LAYOUT | {"legend_title_text": prop})
    )


def conversion_over_time(trends: pl.DataFrame) -> go.Figure:
    fig = px.line(trends, x="period", y="conversion_rate", title="Conversion by day of the first step")
    return fig.update_layout(
        xaxis_title=None, yaxis_title="converted / entered", yaxis_tickformat=".0%", **_LAYOUT
    )


def time_to_convert(histogram: pl.DataFrame) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=((histogram["bin_start_s"] + histogram["bin_end_s"]) / 2).to_list(),
            y=histogram["count"].to_list(),
            width=(histogram["bin_end_s"] - histogram["bin_start_s"]).to_list(),
        )
    )
    return fig.update_layout(
        title="Time to convert",
        xaxis_title="seconds from first to last step",
        yaxis_title="people",
        margin=_LAYOUT["margin"],
    )


SEVERITY_COLOURS = {"page": "rgba(214, 39, 40, 0.18)", "ticket": "rgba(255, 127, 14, 0.12)"}


def budget_burn_down(history: pl.DataFrame, window: str) -> go.Figure:
    """Error budget remaining at the end of each day, a line per objective and group; below zero
    the budget is overspent (it is not clamped)."""
    series = history.with_columns(
        pl.concat_str(["objective", "group"], separator=" ").str.strip_chars().alias("instance")
    )
    fig = px.line(
        series,
        x="date",
        y="error_budget_remaining",
        color="instance",
        markers=True,
        title=f"Error budget remaining ({window})",
    )
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    layout = {**_LAYOUT, "yaxis_rangemode": "normal"}
    return fig.update_layout(
        xaxis_title=None, yaxis_title="budget remaining", yaxis_tickformat=".0%", **layout
    )


def burn_rate_with_alerts(burn: pl.DataFrame, alerts: pl.DataFrame) -> go.Figure:
    """Hourly 1 h and 6 h burn rates with their page thresholds as dashed lines and the replayed
    alert intervals shaded (page red, ticket orange), so a spike lines up with the alert it fired."""
    long = burn.unpivot(
        index=["objective", "group", "at"],
        on=["burn_rate_1h", "burn_rate_6h"],
        variable_name="window",
        value_name="burn_rate",
    ).with_columns(pl.col("window").str.replace("burn_rate_", ""))
    fig = px.line(long, x="at", y="burn_rate", color="window", title="Burn rate and replayed alerts")
    if not burn.is_empty():
        for column, window in (("page_threshold_1h", "1h"), ("page_threshold_6h", "6h")):
            fig.add_hline(
                y=burn[column][0],
                line_dash="dash",
                line_color="grey",
                annotation_text=f"page {window} × {burn[column][0]:g}",
                annotation_position="top left",
            )
    for row in alerts.iter_rows(named=True):
        fig.add_vrect(
            x0=row["start"], x1=row["end"], fillcolor=SEVERITY_COLOURS[row["severity"]], line_width=0
        )
    return fig.update_layout(xaxis_title=None, yaxis_title="× budget rate", **_LAYOUT)


def why_dropped(services: pl.DataFrame) -> go.Figure:
    fig = go.Figure(
        [
            go.Bar(
                name="dropped", x=services["service"].to_list(), y=services["dropped_error_share"].to_list()
            ),
            go.Bar(
                name="converted",
                x=services["service"].to_list(),
                y=services["converted_error_share"].to_list(),
            ),
        ]
    )
    return fig.update_layout(
        title="People with a backend error within 30 minutes of the step",
        barmode="group",
        yaxis_tickformat=".1%",
        margin=_LAYOUT["margin"],
        legend_title_text="",
    )
