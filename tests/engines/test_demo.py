"""The demo company generator: byte-for-byte deterministic, and its story is really in the files.

The files are read back with plain json / xml.etree / line parsing, not with the opsledger
collectors, so these tests check the formats themselves.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from opsledger.demo import Story, generate

ARGS = {"days": 3, "users": 40, "scale": 0.3}
INTERVAL = timedelta(seconds=60)
KINDS = {"metrics": ".om", "logs": ".jsonl", "audit": ".jsonl", "directory": ".ldif", "events": ".jsonl"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Story]:
    root = tmp_path_factory.mktemp("demo")
    return root, generate(root, seed=7, **ARGS)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def days_of(story: Story) -> list[str]:
    return [(story.start + timedelta(days=d)).isoformat() for d in range(story.days)]


def lines(root: Path, kind: str) -> list[str]:
    return [line for f in sorted((root / kind).glob("*.jsonl")) for line in f.read_text().splitlines()]


def jsonl(root: Path, kind: str) -> list[dict]:
    """Every complete JSON line (the logs hold one torn line on purpose; see its own test)."""
    return [json.loads(line) for line in lines(root, kind) if kind != "logs" or line.endswith("}")]


def om_series(root: Path) -> dict[str, list[tuple[datetime, float]]]:
    """Every sample of every series over all day files, in file order."""
    series: dict[str, list[tuple[datetime, float]]] = {}
    for f in sorted((root / "metrics").glob("*.om")):
        for line in f.read_text().splitlines():
            if line.startswith("#"):
                continue
            name, value, stamp = line.rsplit(" ", 2)
            series.setdefault(name, []).append((datetime.fromtimestamp(float(stamp), tz=UTC), float(value)))
    return series


def ldif(path: Path) -> dict[str, dict[str, list[str]]]:
    entries = {}
    for block in path.read_text().strip().split("\n\n"):
        attrs: dict[str, list[str]] = {}
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            attrs.setdefault(key, []).append(value)
        if "dn" in attrs:
            entries[attrs["dn"][0]] = attrs
    return entries


def members(snapshot: dict, group: str) -> set[str]:
    dns = snapshot[f"cn={group},ou=groups,dc=northwind,dc=example"].get("member", [])
    return {re.match(r"uid=([^,]+),", dn).group(1) for dn in dns}


def playwright_tests(report: dict):
    stack = list(report["suites"])
    while stack:
        suite = stack.pop()
        stack.extend(suite.get("suites", []))
        for spec in suite["specs"]:
            for test in spec["tests"]:
                yield spec["file"], spec["title"], test


def test_same_seed_gives_identical_bytes_and_another_seed_differs(demo, tmp_path):
    root, _ = demo
    again, other = tmp_path / "again", tmp_path / "other"
    generate(again, seed=7, **ARGS)
    other_story = generate(other, seed=8, **ARGS)
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (root / rel).read_bytes() == (again / rel).read_bytes(), rel
    differing = [rel for rel in files if (root / rel).read_bytes() != (other / rel).read_bytes()]
    # every generated kind differs; the SLO specs in slos/ are fixed files, the same for every seed
    assert {rel.parts[0] for rel in differing} == {rel.parts[0] for rel in files} - {"slos"}
    assert other_story != demo[1]


def test_layout_is_one_file_per_day_and_kind(demo):
    root, story = demo
    for day in days_of(story):
        for kind, suffix in KINDS.items():
            assert (root / kind / f"{day}{suffix}").stat().st_size > 0
        assert (root / "test-results" / day / "playwright.json").is_file()
        assert (root / "test-results" / day / "junit.xml").is_file()
    assert Story.load(root / "story.json") == story


def test_totals_count_what_is_in_the_files(demo):
    root, story = demo
    assert story.totals["log_lines"] == len(lines(root, "logs"))
    assert story.totals["audit_events"] == len(jsonl(root, "audit"))
    assert story.totals["product_events"] == len(jsonl(root, "events"))
    samples = sum(
        1
        for f in (root / "metrics").glob("*.om")
        for line in f.read_text().splitlines()
        if not line.startswith("#")
    )
    assert story.totals["metric_samples"] == samples
    tests = sum(
        len(list(playwright_tests(json.loads(p.read_text()))))
        for p in root.glob("test-results/*/playwright.json")
    )
    assert story.totals["playwright_tests"] == tests == 60 * story.days
    users = sum(
        sum(1 for dn in ldif(p) if dn.startswith("uid=")) for p in (root / "directory").glob("*.ldif")
    )
    assert story.totals["directory_users"] == users


def test_exactly_one_deploy_has_no_approver(demo):
    root, story = demo
    deploys = [e for e in jsonl(root, "audit") if e["action"] == "deploy"]
    assert len(deploys) == len(story.deploys) >= 3
    unapproved = [e for e in deploys if e["details"]["approver"] is None]
    assert len(unapproved) == 1
    event, expected = unapproved[0], story.unapproved_deploy
    assert (event["resource"], event["details"]["commit_sha"]) == (expected.service, expected.commit)
    assert ts(event["ts"]) == expected.time
    for e in deploys:
        assert re.fullmatch(r"[0-9a-f]{40}", e["details"]["commit_sha"])
        assert e["details"]["environment"] == "production"
        assert e["details"]["approver"] != e["actor"]


def test_admin_grant_is_audited_and_reaches_the_directory(demo):
    root, story = demo
    grant = story.admin_grant
    grants = [
        e for e in jsonl(root, "audit") if e["action"] == "role.grant" and e["details"]["role"] == "admin"
    ]
    assert len(grants) == 1
    assert (grants[0]["actor"], grants[0]["details"]["target"]) == (grant.actor, grant.target)
    assert ts(grants[0]["ts"]) == grant.time
    day = grant.time.date()
    after = ldif(root / "directory" / f"{day.isoformat()}.ldif")
    before = ldif(root / "directory" / f"{(day - timedelta(days=1)).isoformat()}.ldif")
    assert grant.actor in members(before, "admins")
    assert grant.target not in members(before, "admins")
    assert grant.target in members(after, "admins")


def test_brute_force_burst_then_one_success(demo):
    root, story = demo
    bf = story.brute_force
    attempts = [e for e in jsonl(root, "audit") if e["action"] == "login" and e["source_ip"] == bf.ip]
    failures = [e for e in attempts if e["outcome"] == "failure"]
    successes = [e for e in attempts if e["outcome"] == "success"]
    assert len(failures) == bf.count >= 30
    assert {e["actor"] for e in attempts} == {bf.target}
    times = sorted(ts(e["ts"]) for e in failures)
    assert (times[0], times[-1]) == (bf.start, bf.end)
    assert times[-1] - times[0] <= timedelta(minutes=5)
    assert [ts(e["ts"]) for e in successes] == [bf.success_time]
    assert bf.success_time > times[-1]


def test_disabled_user_is_locked_from_that_day_yet_keeps_signing_in(demo):
    root, story = demo
    du = story.disabled_user
    stamp = du.locked_at.strftime("%Y%m%d%H%M%SZ")
    for day in days_of(story):
        entry = ldif(root / "directory" / f"{day}.ldif")[f"uid={du.uid},ou=people,dc=northwind,dc=example"]
        locked = entry.get("pwdAccountLockedTime")
        assert locked == ([stamp] if date.fromisoformat(day) >= du.disabled_on else None), day
    assert du.disabled_on > story.start  # so the test above saw it unlocked first
    logins = [
        ts(e["ts"])
        for e in jsonl(root, "audit")
        if e["action"] == "login" and e["actor"] == du.uid and e["outcome"] == "success"
    ]
    after = [t for t in logins if t > du.locked_at]
    assert len(after) == du.logins_after >= 1
    assert max(after).date() > du.disabled_on


def test_metrics_are_openmetrics_with_resets_exactly_at_restarts(demo):
    root, story = demo
    for f in (root / "metrics").glob("*.om"):
        lines = f.read_text().splitlines()
        assert lines[-1] == "# EOF"
        types = [line.split()[2] for line in lines if line.startswith("# TYPE")]
        assert types == ["http_requests", "http_request_duration_seconds", "up"]
    series = om_series(root)
    for name, points in series.items():
        stamps = [t for t, _ in points]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), name
    restarts = {s: [d.time for d in story.deploys if d.service == s] for s in story.services}
    restarts[story.outage.service].append(story.outage.end)
    restarts[story.maintenance.service].append(story.maintenance.end)
    for service in story.services:
        points = series[f'http_request_duration_seconds_count{{service="{service}"}}']
        drops = [(a[0], b[0]) for a, b in zip(points, points[1:], strict=False) if b[1] < a[1]]
        expected = [r for r in restarts[service] if points[0][0] < r <= points[-1][0]]
        assert len(drops) == len(expected), service
        assert all(lo < r <= hi for (lo, hi), r in zip(drops, sorted(expected), strict=True)), service
    reg = story.regression
    checkout = series['http_requests_total{service="checkout",method="POST",code="200"}']
    before = max(v for t, v in checkout if t < reg.time)
    first_after = min((t, v) for t, v in checkout if t >= reg.time)
    assert first_after[1] < before


def test_outage_shows_up_zero_503s_and_no_purchases(demo):
    root, story = demo
    out = story.outage
    series = om_series(root)
    down = [t for t, v in series[f'up{{service="{out.service}"}}'] if v == 0]
    assert len(down) >= (out.end - out.start) // INTERVAL - 1
    assert all(out.start <= t <= out.end + INTERVAL for t in down)
    errors = [
        e
        for e in jsonl(root, "logs")
        if e.get("http", {}).get("response", {}).get("status_code") == 503
        and e["service"]["name"] in (out.service, *out.affected)
    ]
    assert {e["service"]["name"] for e in errors} == {out.service, *out.affected}
    assert all(out.start <= ts(e["@timestamp"]) < out.end for e in errors)
    assert all(e["log"]["level"] == "error" and e["error"]["type"] for e in errors)
    purchases = [ts(e["timestamp"]) for e in jsonl(root, "events") if e["event"] == "purchase"]
    assert purchases and not [t for t in purchases if out.start <= t < out.end]


def test_playwright_reports_have_flaky_tests_and_checkout_failures_on_the_regression(demo):
    root, story = demo
    reg = story.regression
    seen = {"flaky": 0, "unexpected": 0}
    for run in story.test_runs:
        report = json.loads((root / "test-results" / run.day.isoformat() / "playwright.json").read_text())
        meta = report["config"]["metadata"]
        assert meta["gitCommit"]["hash"] == meta["ci"]["commitHash"] == run.commit
        assert meta["gitCommit"]["branch"] == "main"
        assert ts(report["stats"]["startTime"]) == run.started
        regressed = reg.time <= run.started < reg.fix_time
        if run.day == reg.time.date():
            assert run.commit == reg.commit
        statuses = {"expected": 0, "unexpected": 0, "flaky": 0, "skipped": 0}
        for file, title, test in playwright_tests(report):
            statuses[test["status"]] += 1
            results = [r["status"] for r in test["results"]]
            assert [r["retry"] for r in test["results"]] == list(range(len(results)))
            if test["status"] == "flaky":
                assert results == ["failed", "passed"]
            if test["status"] == "unexpected":
                assert results == ["failed"] * 3 and file == "checkout.spec.ts", title
                assert (
                    regressed or story.outage.start <= ts(test["results"][0]["startTime"]) < story.outage.end
                )
        unexpected_checkout = statuses["unexpected"] > 0
        assert unexpected_checkout == (regressed or run.day == story.outage.start.date()), run.day
        assert {k: report["stats"][k] for k in statuses} == statuses
        for k in seen:
            seen[k] += statuses[k]
    assert seen["flaky"] > 0 and seen["unexpected"] > 0


def test_junit_reports_test_the_same_commit(demo):
    root, story = demo
    for run in story.test_runs:
        tree = ET.parse(root / "test-results" / run.day.isoformat() / "junit.xml").getroot()
        assert tree.tag == "testsuites"
        suites = tree.findall("testsuite")
        assert suites and all(s.get("timestamp") for s in suites)
        for suite in suites:
            props = {p.get("name"): p.get("value") for p in suite.iter("property")}
            assert props["branch"] == "main" and re.fullmatch(r"[0-9a-f]{40}", props["commit_sha"])
            cases = suite.findall("testcase")
            assert int(suite.get("tests")) == len(cases)
            assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)
            assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(tree.get("skipped")) >= 1


def test_logs_are_ecs_nested_objects(demo):
    root, story = demo
    uids = {a["uid"][0] for p in (root / "directory").glob("*.ldif") for a in ldif(p).values() if "uid" in a}
    lines = jsonl(root, "logs")
    assert 3_000 * story.days <= len(lines)
    for e in lines:
        assert not [k for k in e if "." in k and k != "@timestamp"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["@timestamp"])
        assert e["log"]["level"] in ("info", "warn", "error") and e["log"]["logger"]
        assert e["service"]["environment"] == "production" and e["ecs"]["version"]
        if "http" in e:
            assert re.fullmatch(r"[0-9a-f]{32}", e["trace"]["id"]) and re.fullmatch(
                r"[0-9a-f]{16}", e["span"]["id"]
            )
            assert e["event"]["duration"] > 0 and e["url"]["path"].startswith("/")
            assert e["labels"]["tenant_id"] in story.tenants
            status = e["http"]["response"]["status_code"]
            assert (e["log"]["level"] == "error") == (status >= 500)
            if status >= 500:
                assert (
                    e["error"]["type"] and e["error"]["message"] and "Traceback" in e["error"]["stack_trace"]
                )
        if "user" in e:
            assert e["user"]["id"] in uids
    assert {e["service"]["name"] for e in lines} == set(story.services)


def test_events_follow_the_journey_and_join_the_logs(demo):
    root, story = demo
    events = jsonl(root, "events")
    names = {e["event"] for e in events}
    assert {"view_item", "add_to_cart", "begin_checkout", "purchase"} <= names
    count = {n: sum(e["event"] == n for e in events) for n in names}
    assert count["view_item"] > count["add_to_cart"] > count["begin_checkout"] > count["purchase"] > 0
    uids = {a["uid"][0] for p in (root / "directory").glob("*.ldif") for a in ldif(p).values() if "uid" in a}
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    for e in events:
        assert e["distinct_id"] in uids or uuid.fullmatch(e["distinct_id"])
        assert e["properties"]["tenant_id"] in story.tenants
    stamps = [ts(e["timestamp"]) for e in events]
    assert stamps != sorted(stamps)  # arrival order, not event order
    log_traces = {e["trace"]["id"]: e for e in jsonl(root, "logs") if "trace" in e}
    for e in events:
        if e["event"] == "begin_checkout":
            log = log_traces[e["properties"]["trace_id"]]
            assert log["url"]["path"] == "/api/checkout"
            assert log["labels"]["session_id"] == e["properties"]["$session_id"]
            assert log.get("user", {}).get("id", e["distinct_id"]) == e["distinct_id"]


def test_regression_drop_off_is_explained_by_checkout_logs(demo):
    root, story = demo
    reg = story.regression
    sessions: dict[str, dict] = {}
    for e in jsonl(root, "events"):
        s = sessions.setdefault(e["properties"]["$session_id"], {"events": set(), "who": e["distinct_id"]})
        s["events"].add(e["event"])
        if e["event"] == "add_to_cart":
            s.setdefault("cart", ts(e["timestamp"]))
    checkout_calls: dict[str, list[dict]] = {}
    for e in jsonl(root, "logs"):
        if e.get("url", {}).get("path") == "/api/checkout":
            checkout_calls.setdefault(e["labels"]["session_id"], []).append(e)

    def conversion(inside: bool) -> float:
        carts = [
            s for s in sessions.values() if "cart" in s and (reg.time <= s["cart"] < reg.fix_time) == inside
        ]
        return sum("begin_checkout" in s["events"] for s in carts) / len(carts)

    assert conversion(True) < conversion(False) - 0.1
    dropped = [
        (sid, s)
        for sid, s in sessions.items()
        if "cart" in s and reg.time <= s["cart"] < reg.fix_time and "begin_checkout" not in s["events"]
    ]
    tried = [(sid, s) for sid, s in dropped if sid in checkout_calls]
    assert tried
    for sid, s in tried:
        calls = checkout_calls[sid]
        bad = [
            c for c in calls if c["http"]["response"]["status_code"] >= 500 or c["event"]["duration"] >= 5e8
        ]
        assert bad, sid
        assert all(c.get("user", {}).get("id", s["who"]) == s["who"] for c in calls)


@pytest.mark.parametrize("bad", [{"days": 0}, {"users": 5}, {"services": 0}, {"scale": 0}])
def test_invalid_arguments_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        generate(tmp_path, **{**ARGS, **bad})


def test_the_outage_leaves_exactly_one_torn_log_line(demo):
    root, story = demo
    torn = [line for line in lines(root, "logs") if not line.endswith("}")]
    assert len(torn) == 1
    with pytest.raises(json.JSONDecodeError):
        json.loads(torn[0])
    assert '"payments"' in torn[0] or story.outage.service in torn[0]
