"""`test-results/D/junit.xml`: the backend unit tests run before the day's end-to-end run."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from opsledger.demo.model import iso_text, rng_for
from opsledger.demo.plan import Plan

SUITES = {
    "tests.catalog.test_products": (
        "test_lists_products",
        "test_price_rounding",
        "test_unknown_sku_is_404",
        "test_category_filter",
        "test_pagination_bounds",
    ),
    "tests.cart.test_cart": (
        "test_add_item",
        "test_merge_guest_cart",
        "test_expire_abandoned",
        "test_quantity_limits",
    ),
    "tests.checkout.test_pricing": (
        "test_tax_by_region",
        "test_coupon_stacking",
        "test_free_shipping_threshold",
        "test_currency_rounding",
        "test_totals_match_lines",
    ),
    "tests.checkout.test_orders": (
        "test_place_order",
        "test_idempotency_key",
        "test_payment_declined",
        "test_inventory_reserved",
    ),
    "tests.payments.test_charges": (
        "test_charge_ok",
        "test_charge_retry_on_timeout",
        "test_refund",
        "test_live_sandbox_roundtrip",
    ),
    "tests.auth.test_login": (
        "test_password_login",
        "test_lockout_after_failures",
        "test_mfa_challenge",
        "test_session_expiry",
    ),
}
SKIPPED = {
    "test_live_sandbox_roundtrip": "requires the payments sandbox",
    "test_mfa_challenge": "mfa provider mocked out in CI",
}
BROKEN_DAY = 0.15  # chance that one unit test fails on a given day


def junit_xml(plan: Plan, day: int) -> tuple[bytes, int]:
    """The JUnit XML of the day's unit-test run and its number of test cases."""
    rng = rng_for(plan.seed, "junit", day)
    start = plan.run_ms[day] - 20 * 60_000
    commit = plan.commit_at(start)
    n_cases = sum(len(v) for v in SUITES.values())
    broken = int(rng.integers(0, n_cases)) if rng.random() < BROKEN_DAY else -1
    root = ET.Element("testsuites", name="backend unit tests")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped", "time"), 0.0)
    n, t = 0, start
    for suite_name, cases in SUITES.items():
        suite = ET.SubElement(
            root, "testsuite", name=suite_name, hostname="ci-runner-3", timestamp=iso_text(t)
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="commit_sha", value=commit)
        ET.SubElement(props, "property", name="branch", value="main")
        stats = dict.fromkeys(totals, 0.0)
        for case in cases:
            seconds = round(float(rng.lognormal(-3.0, 1.0)), 3)
            el = ET.SubElement(suite, "testcase", classname=suite_name, name=case, time=f"{seconds:.3f}")
            if case in SKIPPED:
                ET.SubElement(el, "skipped", message=SKIPPED[case])
                stats["skipped"] += 1
            elif n == broken:
                message = "AssertionError: assert 2 == 1"
                fail = ET.SubElement(el, "failure", message=message, type="AssertionError")
                where = f"{suite_name.replace('.', '/')}.py:{40 + n}"
                fail.text = f"{where}: in {case}\n    assert len(items) == 1\nE   {message}"
                stats["failures"] += 1
            stats["tests"] += 1
            stats["time"] += seconds
            n += 1
        t += int(stats["time"] * 1000) + 500
        for k, v in stats.items():
            suite.set(k, f"{v:.3f}" if k == "time" else str(int(v)))
            totals[k] += v
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(int(v)))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n", n_cases
