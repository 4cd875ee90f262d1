"""The SLOs page's error-budget policy events on the demo: the payments outage is listed as an
incident over 20 % of the budget, and the budget's exhaustion is marked on the burn-down."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from opsledger.demo.story import Story
from opsledger.settings import Settings


@pytest.fixture
def payments_page(demo_home: Settings, open_page) -> AppTest:
    at = open_page(demo_home, "views/slos.py")
    at.selectbox(key="slo").select("payments-availability").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_outage_is_a_policy_event_and_the_exhaustion_is_marked(payments_page, demo_home):
    at = payments_page
    outage = Story.load(demo_home.demo_dir / "story.json").outage
    assert any(h.value == "Error-budget policy events" for h in at.subheader)
    events = next(d.value for d in at.dataframe if "% of budget" in d.value.columns)
    incidents = events[events["Event"] == "incident > 20 % of budget"]
    during = [row for row in incidents.itertuples() if row.Start < outage.end and row.End > outage.start]
    assert len(during) == 1
    assert abs(during[0].Start - outage.start) <= timedelta(minutes=3)
    assert during[0]._6 > 20  # the "% of budget" column
    exhausted = events[events["Event"] == "budget exhausted"]
    assert len(exhausted) == 1
    burn_down = json.loads(at.get("plotly_chart")[0].proto.spec)
    marks = [s for s in burn_down["layout"]["shapes"] if s.get("line", {}).get("dash") == "dash"]
    assert len(marks) == 1
    assert marks[0]["x0"].startswith(exhausted["Start"].iloc[0].strftime("%Y-%m-%dT%H:%M"))
