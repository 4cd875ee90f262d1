"""Funnels: where people drop out of a configured journey, how fast they convert, and when it changed."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import charts, data

filters = data.current_filters()
st.title("Funnels")
names = data.funnel_names(filters)
if not names:
    st.info(
        "No funnel is configured yet: add one under `funnels:` in opsledger.yaml "
        "(steps, window, mode), run `opsledger build`, and reload this page."
    )
    st.stop()

name = st.selectbox("Funnel", names, key="funnel")
steps = data.funnel_steps(filters, name)
if steps.is_empty() or steps["count"][0] == 0:
    st.info("Nobody entered this funnel yet.")
    st.stop()

entered_col, converted_col, rate_col = st.columns(3)
entered_col.metric("Entered", f"{steps['count'][0]:,}", border=True)
converted_col.metric("Converted", f"{steps['count'][-1]:,}", border=True)
rate_col.metric("Conversion", f"{steps['conversion_from_start'][-1]:.1%}", border=True)

plotly_config = {"displaylogo": False}
st.plotly_chart(charts.funnel(steps), config=plotly_config)
table = steps.select(
    pl.col("step").alias("Step"),
    pl.col("event").alias("Event"),
    pl.col("count").alias("People"),
    pl.col("conversion_from_start").alias("From start"),
    pl.col("conversion_from_previous").alias("From previous"),
    pl.col("median_conversion_time_s").alias("Median time from previous (s)"),
).to_pandas()
st.table(
    table.style.format(
        {
            "People": "{:,}",
            "From start": "{:.1%}",
            "From previous": "{:.1%}",
            "Median time from previous (s)": "{:,.1f}",
        },
        na_rep="–",
    ),
    hide_index=True,
)

trends_col, histogram_col = st.columns(2)
trends = data.funnel_trends(filters, name)
if not trends.is_empty():
    trends_col.plotly_chart(charts.conversion_over_time(trends), config=plotly_config)
histogram = data.funnel_time_to_convert(filters, name)
if not histogram.is_empty():
    histogram_col.plotly_chart(charts.time_to_convert(histogram), config=plotly_config)

st.subheader("Why they dropped")
labels = {f"{k}. {steps['event'][k - 1]} → {steps['event'][k]}": k for k in range(1, steps.height)}
choice = st.selectbox("Between", list(labels), key="why_step")
services = data.funnel_why(filters, name, labels[choice])
if services.is_empty():
    st.info("No backend logs matched the people at this step.")
else:
    st.plotly_chart(charts.why_dropped(services), config=plotly_config)
    why = services.select(
        pl.col("service").alias("Service"),
        pl.col("dropped_error_share").alias("Errors, dropped"),
        pl.col("converted_error_share").alias("Errors, converted"),
        pl.col("dropped_slow_share").alias("Slow, dropped"),
        pl.col("converted_slow_share").alias("Slow, converted"),
        pl.col("dropped_p95_duration_ms").alias("p95 ms, dropped"),
        pl.col("converted_p95_duration_ms").alias("p95 ms, converted"),
    ).to_pandas()
    shares = ["Errors, dropped", "Errors, converted", "Slow, dropped", "Slow, converted"]
    formats = {c: "{:.1%}" for c in shares} | {"p95 ms, dropped": "{:,.0f}", "p95 ms, converted": "{:,.0f}"}
    st.table(why.style.format(formats, na_rep="–"), hide_index=True)
