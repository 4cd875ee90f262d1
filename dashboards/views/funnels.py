"""Funnels: where people drop out of a configured journey, how fast they convert, and when it changed."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import charts, data
from dashboards.tables import PLOTLY_CONFIG, show_table

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

st.plotly_chart(charts.funnel(steps), config=PLOTLY_CONFIG)
show_table(
    steps,
    {
        "step": "Step",
        "event": "Event",
        "count": "People",
        "conversion_from_start": "From start",
        "conversion_from_previous": "From previous",
        "median_conversion_time_s": "Median time from previous (s)",
    },
    {
        "People": "{:,}",
        "From start": "{:.1%}",
        "From previous": "{:.1%}",
        "Median time from previous (s)": "{:,.1f}",
    },
)

trends_col, histogram_col = st.columns(2)
trends = data.funnel_trends(filters, name)
if not trends.is_empty():
    trends_col.plotly_chart(charts.conversion_over_time(trends), config=PLOTLY_CONFIG)
histogram = data.funnel_time_to_convert(filters, name)
if not histogram.is_empty():
    histogram_col.plotly_chart(charts.time_to_convert(histogram), config=PLOTLY_CONFIG)

properties = data.funnel_breakdown_properties(filters, name)
if properties:
    st.subheader("Breakdown")
    prop = st.selectbox("Break down by", properties, key="breakdown_property")
    groups = data.funnel_breakdown(filters, name, prop)
    st.plotly_chart(charts.funnel_breakdown(groups, prop), config=PLOTLY_CONFIG)
    by_value = (
        groups.with_columns(pl.format("{}. {}", "step", "event").alias("step_label"))
        .pivot(on="step_label", index="breakdown", values="count", sort_columns=False)
        .rename({"breakdown": prop})
        .to_pandas()
    )
    st.dataframe(by_value, hide_index=True)

# PostHog's convention, the same as `opsledger funnel --dropoffs k` / `--why k`: dropped off at step k
# = reached step k - 1 but not step k.
st.subheader("Who dropped off, and why")
labels = {f"{k}. {steps['event'][k - 2]} → {steps['event'][k - 1]}": k for k in range(2, steps.height + 1)}
choice = st.selectbox("Dropped off at step", list(labels), key="why_step")
step = labels[choice]
st.caption(
    f"Dropped off at step {step}: reached {steps['event'][step - 2]} but not {steps['event'][step - 1]}. "
    f"Converted: reached {steps['event'][step - 1]} or further."
)
dropped_col, converted_col = st.columns(2)
for column, dropped, what in ((dropped_col, True, "dropped-off"), (converted_col, False, "converted")):
    people = data.funnel_people(filters, name, step, dropped=dropped)
    column.download_button(
        f"Download the {people.height:,} {what} (CSV)",
        people.write_csv(),
        file_name=f"{name}-step-{step}-{what}.csv",
        mime="text/csv",
        on_click="ignore",
        key=f"download_{what}",
    )
services = data.funnel_why(filters, name, step)
if services.is_empty():
    st.info("No backend logs matched the people at this step.")
else:
    st.plotly_chart(charts.why_dropped(services), config=PLOTLY_CONFIG)
    shares = ["Errors, dropped", "Errors, converted", "Slow, dropped", "Slow, converted"]
    show_table(
        services,
        {
            "service": "Service",
            "dropped_error_share": "Errors, dropped",
            "converted_error_share": "Errors, converted",
            "dropped_slow_share": "Slow, dropped",
            "converted_slow_share": "Slow, converted",
            "dropped_p95_duration_ms": "p95 ms, dropped",
            "converted_p95_duration_ms": "p95 ms, converted",
        },
        {c: "{:.1%}" for c in shares} | {"p95 ms, dropped": "{:,.0f}", "p95 ms, converted": "{:,.0f}"},
    )
