"""SLOs and error budgets: which SLOs have least budget left, how it burned down, which burn-rate
alerts would have fired, and whether each SLA was met and what credit is owed."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import charts, data
from dashboards.tables import PLOTLY_CONFIG, show_table
from opsledger.errors import OpsledgerError

filters = data.current_filters()
st.title("SLOs")
try:
    status = data.slo_status(filters)
except OpsledgerError as exc:
    st.info(f"No SLO marts yet: {exc}.")
    st.stop()
if status.is_empty():
    st.info(
        "No SLO is configured yet: add OpenSLO specs under `slos.specs` in opsledger.yaml, "
        "run `opsledger build`, and reload this page."
    )
    st.stop()

counts = status["status"].value_counts()
by_status = dict(zip(counts["status"], counts["count"], strict=True))
st.caption(f"State at {status['at'][0]:%Y-%m-%d %H:%M} UTC, the minute after the newest data.")
for column, label in zip(st.columns(4), ("VIOLATED", "DEGRADING", "HEALTHY", "NO_DATA"), strict=True):
    column.metric(label, by_status.get(label, 0), border=True)

st.subheader("Error budgets")
show_table(
    status,
    {
        "name": "SLO",
        "group": "Group",
        "time_window": "Window",
        "target": "Target",
        "sli": "SLI",
        "error_budget_remaining": "Budget remaining",
        "burn_rate_1h": "Burn rate 1h",
        "status": "Status",
    },
    {"Target": "{:.2%}", "SLI": "{:.3%}", "Budget remaining": "{:.1%}", "Burn rate 1h": "{:.2f}"},
)

name = st.selectbox("SLO", status["name"].unique(maintain_order=True).to_list(), key="slo")
window = status.filter(pl.col("name") == name)["time_window"][0]
history = data.slo_history(filters, name)
events = data.slo_policy_events(filters, name)
if history.is_empty():
    st.info("No whole day of this SLO's history in the chosen days.")
else:
    burn_down = charts.budget_burn_down(history, window)
    for moment in events.filter(pl.col("event") == "budget_exhausted")["start"].to_list():
        burn_down.add_vline(x=moment.isoformat(), line_dash="dash", line_color="firebrick", opacity=0.6)
    st.plotly_chart(burn_down, config=PLOTLY_CONFIG)
    if not events.filter(pl.col("event") == "budget_exhausted").is_empty():
        st.caption("Dashed red: the minute the window's error budget was exhausted.")

burn = data.slo_burn_rates(filters, name)
alerts = data.slo_alerts(filters, name)
st.plotly_chart(charts.burn_rate_with_alerts(burn, alerts), config=PLOTLY_CONFIG)
st.caption("Shaded: replayed alerts — page (red) on 1h/5m and 6h/30m, ticket (orange) on 1d/2h and 3d/6h.")
if not alerts.is_empty():
    st.dataframe(
        alerts.select(
            pl.col("severity").alias("Severity"),
            pl.col("group").alias("Group"),
            pl.col("start").alias("Start"),
            pl.col("end").alias("End"),
            pl.col("minutes").alias("Minutes"),
        ),
        hide_index=True,
        key="slo_alerts",
    )

st.subheader("Error-budget policy events")
if events.is_empty():
    st.caption("No budget exhausted and no incident over 20 % of the budget in the chosen days.")
else:
    st.dataframe(
        events.select(
            pl.col("event")
            .replace(
                {"budget_exhausted": "budget exhausted", "incident_over_20pct": "incident > 20 % of budget"}
            )
            .alias("Event"),
            pl.col("group").alias("Group"),
            pl.col("start").alias("Start"),
            pl.col("end").alias("End"),
            pl.col("minutes").alias("Minutes"),
            (pl.col("budget_share") * 100).round(1).alias("% of budget"),
        ),
        hide_index=True,
        key="slo_policy_events",
    )
    st.caption(
        "An incident is a run of minutes under the objective (gaps under 5 minutes merged); budget exhausted "
        "ends when the rolling window has budget again (empty: still exhausted)."
    )

st.subheader("SLAs by month")
months = data.sla_months(filters)
if months.is_empty():
    st.info("No SLA is configured (slas in opsledger.yaml).")
else:
    show_table(
        months.with_columns(
            pl.when(pl.col("met")).then(pl.lit("met")).otherwise(pl.lit("missed")).alias("met")
        ),
        {
            "name": "SLA",
            "slo": "SLO",
            "month": "Month",
            "uptime": "Uptime",
            "target": "Target",
            "downtime_minutes": "Downtime (min)",
            "excluded_minutes": "Excluded (min)",
            "met": "Met",
            "credit_percent": "Credit %",
        },
        {"Uptime": "{:.3%}", "Target": "{:.2%}", "Credit %": "{:g}"},
    )
