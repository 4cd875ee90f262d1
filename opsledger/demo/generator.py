"""Write the whole demo month and return its ``Story``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from importlib import resources
from pathlib import Path

import polars as pl

from opsledger.demo import audit, directory, events, logs, metrics, testruns
from opsledger.demo.model import COMPANY, TENANTS
from opsledger.demo.plan import Plan, make_plan
from opsledger.demo.sessions import products, simulate_day
from opsledger.demo.story import Story
from opsledger.demo.traffic import internal_requests


class DaySink:
    """Collects a kind's lines and writes one file per day of their timestamp.

    A session that starts before midnight ends after it, so lines for later days wait here
    until their day is written; lines after the last day are outside the period and dropped.
    """

    def __init__(self, plan: Plan, folder: Path) -> None:
        self.plan, self.folder = plan, folder
        self.pending = pl.DataFrame(schema={"ts_ms": pl.Int64, "order_ms": pl.Int64, "line": pl.String})
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, frame: pl.DataFrame) -> None:
        self.pending = pl.concat([self.pending, frame.select("ts_ms", "order_ms", "line")])

    def flush(self, day: int) -> int:
        due = pl.col("ts_ms") < self.plan.day_ms(day + 1)
        now = self.pending.filter(due).sort("order_ms", maintain_order=True)
        self.pending = self.pending.filter(~due)
        text = now["line"].str.join("\n").item() + "\n" if now.height else ""
        (self.folder / f"{self.plan.day_date(day).isoformat()}.jsonl").write_text(text)
        return now.height


def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    start: date = date(2026, 10, 1),
    days: int = 30,
    services: int = 6,
    users: int = 300,
    scale: float = 1.0,
    scrape_interval_s: int = 60,
    progress: Callable[[str], None] | None = None,
) -> Story:
    """Write a month of Northwind Shop in the real source formats under ``out_dir``.

    Same arguments give byte-identical files. Layout: ``metrics/D.om``, ``logs/D.jsonl``,
    ``audit/D.jsonl``, ``directory/D.ldif``, ``test-results/D/{playwright.json,junit.xml}``,
    ``events/D.jsonl``, ``slos/*.yaml`` and ``story.json`` (``D`` = YYYY-MM-DD).
    """
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = make_plan(
        seed=seed,
        start=start,
        days=days,
        services=services,
        users=users,
        scale=scale,
        scrape_interval_s=scrape_interval_s,
    )
    totals: Counter[str] = Counter()
    for day, n in metrics.write(plan, out_dir):
        totals["metric_samples"] += n
        say(f"metrics: day {day + 1}/{days}")

    catalog = products(seed)
    entries = directory.person_entries(plan)
    sinks = {kind: DaySink(plan, out_dir / kind) for kind in ("logs", "audit", "events")}
    runs = []
    for day in range(days):
        sim = simulate_day(plan, day, catalog)
        served = pl.concat([sim.requests, internal_requests(plan, day)])
        sinks["logs"].add(pl.concat([logs.request_lines(plan, served), logs.service_lines(plan, day)]))
        sinks["audit"].add(audit.lines(plan, day, sim))
        sinks["events"].add(events.lines(sim))
        totals["log_lines"] += sinks["logs"].flush(day)
        totals["audit_events"] += sinks["audit"].flush(day)
        totals["product_events"] += sinks["events"].flush(day)
        n_entries, n_users = directory.write(plan, out_dir, day, entries)
        totals["directory_entries"] += n_entries
        totals["directory_users"] += n_users
        run, n_tests, n_cases = testruns.write(plan, out_dir, day)
        runs.append(run)
        totals["playwright_tests"] += n_tests
        totals["junit_testcases"] += n_cases
        say(f"logs, audit, events, directory, tests: day {day + 1}/{days}")

    story = Story(
        company=COMPANY,
        seed=seed,
        start=start,
        days=days,
        tenants=TENANTS,
        services=plan.services,
        users=users,
        outage=plan.outage,
        maintenance=plan.maintenance,
        regression=plan.regression,
        unapproved_deploy=plan.unapproved,
        admin_grant=plan.admin_grant,
        brute_force=plan.brute,
        disabled_user=plan.disabled,
        joined=tuple(plan.joined),
        left=tuple(plan.left),
        deploys=tuple(plan.deploys),
        test_runs=tuple(runs),
        totals=dict(sorted(totals.items())),
    )
    (out_dir / "story.json").write_text(story.to_json())
    # The demo's SLO specs ship as package data; the demo config points at this copy.
    (out_dir / "slos").mkdir(exist_ok=True)
    for spec in sorted(resources.files("opsledger.demo").joinpath("slos").iterdir(), key=lambda p: p.name):
        if spec.name.endswith(".yaml"):
            (out_dir / "slos" / spec.name).write_text(spec.read_text(encoding="utf-8"), encoding="utf-8")
    return story
