"""Overview: how much traffic each service took in the chosen days, how much of it failed, how slow."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data
from dashboards.tables import PLOTLY_CONFIG, show_table

filters = data.current_filters()
st.title("Overview")
st.caption(
    f"{filters.first_day:%Y-%m-%d} → {filters.last_day:%Y-%m-%d} (UTC) · "
    f"{len(filters.services)} service(s) · {'hourly' if filters.grain == 'hour' else 'daily'} buckets"
)

totals = data.traffic_totals(filters)
summary = data.service_summary(filters)
if summary.is_empty():
    st.info("No traffic recorded for these days and services. Widen the date range or the service filter.")
    st.stop()

requests_col, errors_col, latency_col = st.columns(3)
requests_col.metric("Total requests", f"{totals['requests']:,.0f}", border=True)
error_ratio = totals["error_ratio"]
errors_col.metric(
    "Error ratio",
    "n/a" if error_ratio is None else f"{error_ratio:.3%}",
    help="5xx responses / all requests over the whole range",
    border=True,
)
worst = summary.drop_nulls("peak_p95_ms").sort("peak_p95_ms", descending=True).head(1)
if worst.is_empty():
    latency_col.metric("Worst p95", "n/a", help="no latency histogram for these services", border=True)
else:
    latency_col.metric(
        "Worst p95",
        f"{worst['peak_p95_ms'][0]:,.1f} ms",
        help="the highest daily p95 of any selected service in the range",
        border=True,
    )
    latency_col.caption(f"{worst['service'][0]}, peak day")

series = data.service_series(filters)
traffic_col, error_col = st.columns(2)
traffic_col.plotly_chart(charts.traffic_over_time(series, filters.grain), config=PLOTLY_CONFIG)
error_col.plotly_chart(charts.error_ratio_over_time(series, filters.grain), config=PLOTLY_CONFIG)
st.plotly_chart(charts.latency_over_time(series, filters.grain), config=PLOTLY_CONFIG)

st.subheader("Per service")
show_table(
    summary,
    {
        "service": "Service",
        "requests": "Requests",
        "errors": "Errors",
        "error_ratio": "Error ratio",
        "peak_p95_ms": "p95 (peak day, ms)",
    },
    {"Requests": "{:,.0f}", "Errors": "{:,.0f}", "Error ratio": "{:.3%}", "p95 (peak day, ms)": "{:,.1f}"},
    na_rep="n/a",
)
