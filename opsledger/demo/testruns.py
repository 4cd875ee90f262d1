"""`test-results/D/`: the day's CI evidence — a Playwright JSON report (and, via junit.py, JUnit XML).

The end-to-end run tests the newest deployed commit. Checkout specs fail on every retry while
the checkout regression is deployed, payment specs fail when the run falls in the payments
outage, a few specs are flaky (fail, then pass on retry) and a couple are skipped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from opsledger.demo.junit import junit_xml
from opsledger.demo.model import epoch_ms, from_ms, iso_text, rng_for
from opsledger.demo.plan import Plan
from opsledger.demo.story import TestRun

RETRIES = 2
PROJECTS = ("chromium", "firefox")
# file -> (describe title, [(spec title, tag)]); tags: checkout, payment, flaky:<p>, skip, skip-firefox
SPECS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "home.spec.ts": (
        "home page",
        [
            ("shows featured products", ""),
            ("navigates to a category", ""),
            ("shows search suggestions", "flaky:0.25"),
            ("footer links resolve", ""),
        ],
    ),
    "catalog.spec.ts": (
        "catalog",
        [
            ("lists products with prices", ""),
            ("filters by category", ""),
            ("sorts by price", "flaky:0.15"),
            ("product page shows details", ""),
            ("shows the out-of-stock badge", ""),
            ("paginates results", ""),
        ],
    ),
    "cart.spec.ts": (
        "cart",
        [
            ("adds an item to the cart", ""),
            ("updates the quantity", ""),
            ("removes an item", ""),
            ("keeps the cart after a reload", "flaky:0.35"),
            ("applies a coupon", "skip-firefox"),
        ],
    ),
    "checkout.spec.ts": (
        "checkout",
        [
            ("guest checkout completes", "payment"),
            ("signed-in checkout completes", "payment"),
            ("shows shipping options", "checkout"),
            ("validates the address form", ""),
            ("card payment succeeds", "payment"),
            ("declined card shows an error", "checkout"),
        ],
    ),
    "account.spec.ts": (
        "account",
        [
            ("signs in with valid credentials", ""),
            ("rejects a wrong password", ""),
            ("shows order history", ""),
            ("updates the profile", ""),
            ("signs out", ""),
        ],
    ),
    "search.spec.ts": (
        "search",
        [
            ("finds products by name", ""),
            ("shows the no-results state", ""),
            ("is case-insensitive", ""),
            ("suggests spelling corrections", "skip"),
        ],
    ),
}
FLAKY_ERROR = (
    "TimeoutError: locator.click: Timeout 5000ms exceeded.\nCall log:\n"
    "  - waiting for getByRole('button', { name: 'Add to cart' })"
)
REGRESSION_ERRORS = (
    'TimeoutError: page.waitForResponse: Timeout 10000ms exceeded while waiting for event "response"\n'
    "  - waiting for response matching /api/checkout",
    "Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 200\nReceived: 500",
)
OUTAGE_ERROR = "Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 201\nReceived: 503"


def _id(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:20]


def _result(
    worker: int, retry: int, t: int, duration: int, status: str, error: str | None, where: dict
) -> dict:
    res = {
        "workerIndex": worker * 2 + retry,
        "parallelIndex": worker,
        "status": status,
        "duration": duration,
        "errors": [],
        "stdout": [],
        "stderr": [],
        "retry": retry,
        "startTime": iso_text(t),
        "attachments": [],
    }
    if error:
        stack = f"{error}\n    at {where['file']}:{where['line']}:{where['column']}"
        res["error"] = {"message": error, "stack": stack, "location": where}
        res["errors"] = [{"message": error, "location": where}]
    return res


def _duration(error: str | None, rng) -> int:
    """Milliseconds an attempt took: a timeout lasts its timeout, a failed assertion is quick."""
    if error is None:
        return int(rng.lognormal(7.4, 0.5))
    if "Timeout 10000ms" in error:
        return 10_000 + int(rng.integers(0, 600))
    if "Timeout 5000ms" in error:
        return 5_000 + int(rng.integers(0, 400))
    return int(rng.integers(800, 3_000))


def _attempts(
    tag: str, project: str, k: int, regressed: bool, in_outage: bool, rng
) -> list[str | None] | None:
    """The error of each attempt (None = passed), or None when the test is skipped."""
    if tag == "skip" or (tag == "skip-firefox" and project == "firefox"):
        return None
    if tag in ("checkout", "payment") and regressed:
        return [REGRESSION_ERRORS[k % 2]] * (RETRIES + 1)
    if tag == "payment" and in_outage:
        return [OUTAGE_ERROR] * (RETRIES + 1)
    p_flaky = float(tag.split(":")[1]) if tag.startswith("flaky") else 0.01
    return [FLAKY_ERROR, None] if rng.random() < p_flaky else [None]


def _suites(plan: Plan, day: int, start: int) -> tuple[list[dict], dict[str, int], int]:
    rng = rng_for(plan.seed, "playwright", day)
    reg, out = plan.regression, plan.outage
    regressed = epoch_ms(reg.time) <= start < epoch_ms(reg.fix_time)
    clock = {p: start + 900 + 40 * i for i, p in enumerate(PROJECTS)}
    counts = dict.fromkeys(("expected", "unexpected", "flaky", "skipped"), 0)
    suites = []
    for n_file, (file, (describe, specs)) in enumerate(SPECS.items()):
        rows = []
        for k, (title, tag) in enumerate(specs):
            where = {"file": f"/builds/shop/e2e/tests/{file}", "column": 5, "line": 12 + 9 * k}
            tests = []
            for w, project in enumerate(PROJECTS):
                t = clock[project]
                attempts = _attempts(
                    tag, project, k, regressed, epoch_ms(out.start) <= t < epoch_ms(out.end), rng
                )
                results = []
                for retry, error in enumerate(attempts or []):
                    duration = _duration(error, rng)
                    results.append(
                        _result(w, retry, t, duration, "failed" if error else "passed", error, where)
                    )
                    t += duration + 150
                if attempts is None:
                    results, status = [_result(w, 0, t, 0, "skipped", None, where)], "skipped"
                elif attempts[-1] is not None:
                    status = "unexpected"
                else:
                    status = "flaky" if len(attempts) > 1 else "expected"
                counts[status] += 1
                clock[project] = t + 80
                skip = attempts is None
                tests.append(
                    {
                        "timeout": 30000,
                        "annotations": [{"type": "skip"}] if skip else [],
                        "expectedStatus": "skipped" if skip else "passed",
                        "projectId": project,
                        "projectName": project,
                        "results": results,
                        "status": status,
                    }
                )
            ok = all(t["status"] != "unexpected" for t in tests)
            spec = {"title": title, "ok": ok, "tags": [], "tests": tests, "id": _id(file, describe, title)}
            rows.append({**spec, "file": file, "line": 10 + 9 * k, "column": 3})
        inner = {"title": describe, "file": file, "line": 4 + n_file, "column": 6, "specs": rows}
        suites.append({"title": file, "file": file, "column": 0, "line": 0, "specs": [], "suites": [inner]})
    return suites, counts, max(clock.values())


def _metadata(plan: Plan, day: int, commit: str) -> dict:
    """``config.metadata`` as Playwright's captureGitInfo fills it (gitCommit + ci)."""
    deploy = next((d for d in reversed(plan.deploys) if d.commit == commit), None)
    author = deploy.actor if deploy else "release-bot"
    when = epoch_ms(deploy.time) - 3_600_000 if deploy else plan.day_ms(0) - 86_400_000
    subject = f"{deploy.service}: release {deploy.version}" if deploy else "initial import"
    person = {"name": author, "email": f"{author}@northwind.example", "time": when}
    git = {
        "shortHash": commit[:7],
        "hash": commit,
        "subject": subject,
        "body": subject + "\n",
        "author": person,
        "committer": person,
        "branch": "main",
    }
    ci = {
        "commitHref": f"https://git.northwind.example/shop/shop/commit/{commit}",
        "commitHash": commit,
        "buildHref": f"https://ci.northwind.example/shop/shop/pipelines/{4100 + day}",
    }
    return {"actualWorkers": 4, "gitCommit": git, "ci": ci}


def playwright_report(plan: Plan, day: int) -> tuple[dict, TestRun]:
    start = plan.run_ms[day]
    commit = plan.commit_at(start)
    suites, counts, end = _suites(plan, day, start)
    project = {
        "outputDir": "/builds/shop/e2e/test-results",
        "repeatEach": 1,
        "retries": RETRIES,
        "testDir": "/builds/shop/e2e/tests",
        "testIgnore": [],
        "testMatch": ["**/*.@(spec|test).?(c|m)[jt]s?(x)"],
        "timeout": 30000,
    }
    config = {
        "configFile": "/builds/shop/e2e/playwright.config.ts",
        "rootDir": "/builds/shop/e2e/tests",
        "forbidOnly": True,
        "fullyParallel": True,
        "globalSetup": None,
        "globalTeardown": None,
        "globalTimeout": 0,
        "grep": {},
        "grepInvert": None,
        "maxFailures": 0,
        "metadata": _metadata(plan, day, commit),
        "preserveOutput": "always",
        "reporter": [["json", {"outputFile": "playwright.json"}]],
        "reportSlowTests": {"max": 5, "threshold": 300000},
        "quiet": False,
        "projects": [{**project, "id": p, "name": p} for p in PROJECTS],
        "shard": None,
        "updateSnapshots": "missing",
        "version": "1.56.1",
        "workers": 4,
        "webServer": None,
    }
    stats = {"startTime": iso_text(start), "duration": float(end - start), **counts}
    report = {"config": config, "suites": suites, "errors": [], "stats": stats}
    run = TestRun(plan.day_date(day), from_ms(start), commit, **counts)
    return report, run


def write(plan: Plan, out_dir: Path, day: int) -> tuple[TestRun, int, int]:
    folder = out_dir / "test-results" / plan.day_date(day).isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    report, run = playwright_report(plan, day)
    (folder / "playwright.json").write_text(json.dumps(report, indent=2) + "\n")
    xml, n_cases = junit_xml(plan, day)
    (folder / "junit.xml").write_bytes(xml)
    return run, run.expected + run.unexpected + run.flaky + run.skipped, n_cases
