"""The overview page in a real browser: Streamlit serving the seeded warehouse, read by Chromium."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 60_000


def _warehouse(path: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_overview_total_requests_match_the_warehouse(
    dashboard, page: Page, outside_requests, tmp_path: Path
) -> None:
    page.goto(dashboard.url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".main-svg").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=LOAD_TIMEOUT_MS)

    total = page.get_by_test_id("stMetric").filter(has_text="Total requests").get_by_test_id("stMetricValue")
    shown = int(total.inner_text().replace(",", ""))
    ((expected,),) = _warehouse(dashboard.warehouse_path, "select sum(requests) from mart_service_daily")
    assert shown == round(expected)

    services = [
        s
        for (s,) in _warehouse(
            dashboard.warehouse_path, "select distinct service from mart_service_daily order by 1"
        )
    ]
    table = page.get_by_test_id("stTable")
    for service in services:
        expect(table.get_by_role("cell", name=service, exact=True)).to_be_visible()
    # Three charts, each drawn by Plotly as SVG.
    expect(page.locator(".js-plotly-plot")).to_have_count(3)

    page.screenshot(path=tmp_path / "overview.png", full_page=True)
    assert outside_requests.urls == []
