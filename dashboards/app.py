"""The opsledger dashboards: page config, navigation and the sidebar every page shares.

Run with ``streamlit run dashboards/app.py``; the warehouse is ``$OPSLEDGER_HOME/warehouse.duckdb``.
Sign-in (LDAP), roles and tenants will hook in here, before navigation: ``dashboards/auth.py``
will identify the viewer, pick the pages their role may see and put their tenant into
``data.Filters``, so every page query is scoped on the server side.
"""

from __future__ import annotations

import streamlit as st

from dashboards import data
from opsledger.errors import OpsledgerError

st.set_page_config(page_title="opsledger", layout="wide")

# No page icons: the browser would fetch a Material-symbol or emoji favicon from an outside server.
page = st.navigation(
    [
        st.Page("views/overview.py", title="Overview", default=True),
        st.Page("views/funnels.py", title="Funnels"),
        st.Page("views/slos.py", title="SLOs"),
    ]
)

warehouse_path = data.settings().warehouse_path
try:
    extent = data.extent(warehouse_path)
except OpsledgerError as exc:
    st.title(page.title)
    st.info(f"Nothing to show yet: {exc}, then reload this page.")
    st.stop()
if extent is None:
    st.title(page.title)
    st.info(
        "The warehouse has no traffic yet: ingest metrics (`opsledger ingest metric_samples …`), "
        "run `opsledger build`, and reload this page."
    )
    st.stop()

with st.sidebar:
    st.header("Filters")
    chosen = st.date_input(
        "Days (UTC)",
        value=(extent.first_day, extent.last_day),
        min_value=extent.first_day,
        max_value=extent.last_day,
        key="days",
    )
    services = st.multiselect("Services", extent.services, placeholder="All services", key="services")

# While the user is picking a range the widget briefly holds only its start day (or nothing).
first_day = chosen[0] if chosen else extent.first_day
last_day = chosen[1] if len(chosen) > 1 else extent.last_day
st.session_state[data.FILTERS_KEY] = data.Filters(
    warehouse_path=warehouse_path,
    first_day=first_day,
    last_day=last_day,
    services=tuple(services) or extent.services,
)
page.run()
