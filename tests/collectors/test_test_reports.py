"""Test-report collector: real Playwright JSON and JUnit XML files, with upstream's expected counts."""

from __future__ import annotations

import json
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from collectors import test_reports
from collectors.base import FormatError

DATA = Path(__file__).parents[1] / "data" / "test-results"
PLAYWRIGHT = DATA / "playwright"
JUNITPARSER = DATA / "junit" / "junitparser"
PUBLISH_ACTION = DATA / "junit" / "publish-unit-test-result-action"
OBSERVED = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def collect(path: Path, **options) -> tuple[list[dict], list, int]:
    chunks = list(test_reports.read(path, source="ci", observed_at=OBSERVED, **options))
    rows = [row for chunk in chunks for row in chunk.tables["test_results"].to_pylist()]
    rejects = [reject for chunk in chunks for reject in chunk.rejects]
    return rows, rejects, sum(chunk.rows_read for chunk in chunks)


def write(tmp_path: Path, name: str, content: str | dict) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


# --- Playwright ---------------------------------------------------------------------------------


def test_playwright_valid_report_counts():
    rows, rejects, read = collect(PLAYWRIGHT / "report-valid.json")
    # daun/playwright-report-summary: 14 tests, 10 passed, 2 failed, 1 flaky, 1 skipped.
    assert (read, len(rows), rejects) == (14, 14, [])
    assert Counter(row["outcome"] for row in rows) == {
        "expected": 10,
        "unexpected": 2,
        "flaky": 1,
        "skipped": 1,
    }
    assert {row["source_format"] for row in rows} == {"playwright"}
    assert {row["source"] for row in rows} == {"ci"}
    assert len({row["run_id"] for row in rows}) == 1
    # No stats.startTime in this (1.37) report: the run starts at its earliest result.
    assert {row["run_started_at"] for row in rows} == {datetime(2023, 9, 8, 12, 31, 4, 650000, tzinfo=UTC)}
    assert len({row["test_id"] for row in rows}) == 14


def test_playwright_valid_report_test_details():
    rows, _, _ = collect(PLAYWRIGHT / "report-valid.json")
    by_key = {(row["file"], row["title"], row["project"]): row for row in rows}

    flaky = by_key[("multiply.spec.ts", "multiplies", "chromium")]
    # Results: failed (retry 0), failed (retry 1), passed (retry 2, 11 ms).
    assert (flaky["outcome"], flaky["status"], flaky["retry"], flaky["duration_ms"]) == (
        "flaky",
        "passed",
        2,
        11.0,
    )
    assert flaky["suite"] == "multiply"
    assert (
        flaky["error_message"]
        == "expect(received).toBe(expected) // Object.is equality\nExpected: 7\nReceived: 6"
    )

    failed = by_key[("add.spec.ts", "adds", "chromium")]
    assert (failed["outcome"], failed["status"], failed["retry"]) == ("unexpected", "failed", 4)
    assert "\x1b" not in failed["error_message"]
    assert failed["error_message"].startswith("expect(received).toBe(expected)")

    skipped = by_key[("multiply.spec.ts", "skips", "chromium")]
    assert (skipped["outcome"], skipped["status"], skipped["retry"], skipped["error_message"]) == (
        "skipped",
        "skipped",
        0,
        None,
    )
    passed = by_key[("add.spec.ts", "returns", "chromium")]
    assert (passed["status"], passed["retry"], passed["duration_ms"], passed["error_message"]) == (
        "passed",
        0,
        15.0,
        None,
    )
    # Same test in another project is another test.
    assert by_key[("add.spec.ts", "adds", "firefox")]["test_id"] != failed["test_id"]


def test_playwright_sharded_report_counts():
    rows, rejects, read = collect(PLAYWRIGHT / "report-sharded.json")
    # daun/playwright-report-summary: 27 tests, 22 passed, 1 failed, 1 flaky, 3 skipped.
    assert (read, rejects) == (27, [])
    assert Counter(row["outcome"] for row in rows) == {
        "expected": 22,
        "unexpected": 1,
        "flaky": 1,
        "skipped": 3,
    }
    assert {row["project"] for row in rows} == {"chromium", "firefox", "webkit"}
    assert {row["run_started_at"] for row in rows} == {datetime(2023, 9, 9, 10, 45, 5, 443000, tzinfo=UTC)}


def test_playwright_invalid_report_is_a_format_error():
    # Upstream's isValidReport() is false for it: `settings`/`tests` instead of `config`/`suites`.
    with pytest.raises(
        FormatError, match=r"not a Playwright JSON report: .*'config' and 'suites' \(found settings, tests\)"
    ):
        collect(PLAYWRIGHT / "report-invalid.json")


def _result(status, retry=0, duration=10, error=None, start="2026-01-05T08:00:01.000Z"):
    result = {"status": status, "retry": retry, "duration": duration, "startTime": start, "errors": []}
    if error:
        result["error"] = {"message": error}
    return result


def _report(stats_start="2026-01-05T08:00:00.000Z", metadata=None) -> dict:
    spec = {
        "title": "checks out",
        "file": "shop/checkout.spec.ts",
        "tests": [
            {
                "projectName": "chromium",
                "status": "unexpected",
                "results": [
                    _result("failed", 0, 900, "\x1b[31mTimeout 5000ms exceeded\x1b[39m\nwaiting for x"),
                    _result("timedOut", 1, 5000, "Test timeout of 5000ms exceeded."),
                ],
            },
            {"projectName": "webkit", "status": "skipped", "results": []},
            {"projectName": "firefox", "status": "passed", "results": [_result("passed")]},
            {"projectName": "mobile", "status": "expected", "results": []},
        ],
    }
    return {
        "config": {"metadata": metadata or {}, "projects": []},
        "suites": [
            {
                "title": "shop/checkout.spec.ts",
                "file": "shop/checkout.spec.ts",
                "specs": [],
                "suites": [
                    {
                        "title": "cart",
                        "file": "shop/checkout.spec.ts",
                        "specs": [],
                        "suites": [{"title": "as guest", "file": "shop/checkout.spec.ts", "specs": [spec]}],
                    }
                ],
            }
        ],
        "errors": [],
        "stats": {"startTime": stats_start, "duration": 6000},
    }


def test_playwright_commit_info_stats_and_bad_tests(tmp_path):
    # The demo generator's shape (Playwright captureGitInfo): config.metadata.gitCommit / ci.
    metadata = {
        "gitCommit": {"hash": "4f2a9c1e", "branch": "release/2026.1"},
        "ci": {"commitHash": "ignored"},
    }
    path = write(tmp_path, "results.json", _report(metadata=metadata))
    rows, rejects, read = collect(path)
    assert read == 4
    timed_out, skipped = rows
    assert (timed_out["status"], timed_out["outcome"], timed_out["retry"], timed_out["duration_ms"]) == (
        "timedOut",
        "unexpected",
        1,
        5000.0,
    )
    assert timed_out["error_message"] == "Test timeout of 5000ms exceeded."
    assert timed_out["suite"] == "cart > as guest"
    assert (skipped["project"], skipped["status"], skipped["outcome"], skipped["duration_ms"]) == (
        "webkit",
        "skipped",
        "skipped",
        None,
    )
    assert {(row["commit_sha"], row["branch"]) for row in rows} == {("4f2a9c1e", "release/2026.1")}
    assert {row["run_started_at"] for row in rows} == {datetime(2026, 1, 5, 8, 0, tzinfo=UTC)}
    assert [(r.position, r.reason) for r in rejects] == [
        (
            "test 3 (shop/checkout.spec.ts > cart > as guest > checks out, firefox)",
            "field 'status': unknown outcome 'passed' (expected one of "
            "['expected', 'flaky', 'skipped', 'unexpected'])",
        ),
        (
            "test 4 (shop/checkout.spec.ts > cart > as guest > checks out, mobile)",
            "field 'results': empty for a expected test",
        ),
    ]
    assert json.loads(rejects[0].raw)["projectName"] == "firefox"


def test_playwright_ids_are_stable_and_fallback_commit_keys(tmp_path):
    first = collect(
        write(tmp_path, "a.json", _report(metadata={"ci": {"commitHash": "abc123"}, "branch": "main"}))
    )[0]
    again = collect(
        write(tmp_path, "b.json", _report(metadata={"ci": {"commitHash": "abc123"}, "branch": "main"}))
    )[0]
    later = collect(write(tmp_path, "c.json", _report(stats_start="2026-01-06T08:00:00.000Z")))[0]
    assert (first[0]["commit_sha"], first[0]["branch"]) == ("abc123", "main")
    assert (later[0]["commit_sha"], later[0]["branch"]) == (None, None)
    # Same start, different file name: another run; test ids do not depend on the run.
    assert first[0]["run_id"] != again[0]["run_id"]
    assert first[0]["run_id"] == collect(tmp_path / "a.json")[0][0]["run_id"]
    assert [r["test_id"] for r in first] == [r["test_id"] for r in again] == [r["test_id"] for r in later]


# --- JUnit: junitparser's data files, with what tests/test_fromfile.py asserts -------------------


@pytest.mark.parametrize("name", ["normal.xml", "no_suites_tag.xml", "jenkins.xml"])
def test_junitparser_suites_with_failure_skip_and_pass(name):
    rows, rejects, read = collect(JUNITPARSER / name)
    # Suite "JUnitXmlReporter.constructor" holds 3 cases: Failure, Skipped, no result (passed).
    assert (read, rejects) == (3, [])
    assert [(r["title"], r["status"], r["outcome"]) for r in rows] == [
        ("should default path to an empty string", "failed", "unexpected"),
        ("should default consolidate to true", "skipped", "skipped"),
        ("should default useDotNotation to true", "passed", "expected"),
    ]
    assert rows[0]["error_message"] == "test failure"
    assert rows[0]["duration_ms"] == 6.0
    assert {r["suite"].split(" > ")[0] for r in rows} == {"JUnitXmlReporter.constructor"}
    assert {r["run_started_at"] for r in rows} == {datetime(2013, 5, 24, 10, 23, 58, tzinfo=UTC)}
    assert {r["source_format"] for r in rows} == {"junit"}


def test_junitparser_nested_suites_keep_their_path():
    rows, _, _ = collect(JUNITPARSER / "jenkins.xml")
    assert [r["suite"].count(" > ") for r in rows] == [0, 1, 2]


def test_junitparser_pytest_files():
    (failed,), _, _ = collect(JUNITPARSER / "pytest_error.xml")
    assert (failed["title"], failed["suite"], failed["status"], failed["error_message"]) == (
        "test_merge",
        "pytest > tests.test_cli",
        "failed",
        "NameError: name 'file' is not defined",
    )
    # timestamp="2025-01-14T20:33:43.564504+01:00"
    assert failed["run_started_at"] == datetime(2025, 1, 14, 19, 33, 43, 564504, tzinfo=UTC)
    (passed,), _, _ = collect(JUNITPARSER / "pytest_success.xml")
    assert (passed["title"], passed["outcome"], passed["duration_ms"]) == ("test_fromfile", "expected", 1.0)


def test_junitparser_no_fails():
    rows, _, _ = collect(JUNITPARSER / "no_fails.xml")
    assert [r["outcome"] for r in rows] == ["expected", "skipped", "expected"]


def test_junitparser_multiple_results_in_a_case(tmp_path):
    # test_multi_results_in_case: a case with a failure and a skipped result.
    path = write(
        tmp_path,
        "multi.xml",
        '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="JUnitXmlReporter.constructor">'
        '<testcase classname="JUnitXmlReporter.constructor" name="should default path to an empty string" '
        'time="0.006"><failure message="test failure">Assertion failed</failure><skipped /></testcase>'
        "</testsuite></testsuites>",
    )
    ((row,), _, _) = collect(path)
    assert (row["status"], row["outcome"], row["error_message"]) == ("failed", "unexpected", "test failure")


@pytest.mark.parametrize("text", ["Not really an xml file", "<some></some>"])
def test_junitparser_not_junit(tmp_path, text):
    with pytest.raises(FormatError):
        collect(write(tmp_path, "x.xml", text))


# --- JUnit: publish-unit-test-result-action files and their expected results ---------------------

RESULT_FILES = sorted(PUBLISH_ACTION.rglob("*.results.json"))
EXCEPTION_FILES = sorted(PUBLISH_ACTION.rglob("*.exception"))
# Where opsledger deliberately differs from upstream's count, and why.
DEVIATIONS = {
    # The suite says tests="6" but holds no testcase: upstream counts the announced 6, opsledger cannot
    # store results that are not in the file and quarantines the suite as one record instead.
    "no-cases-but-tests": {"tests": 0, "rejects": 1},
}


@pytest.mark.parametrize("expected_file", RESULT_FILES, ids=lambda p: str(p.relative_to(PUBLISH_ACTION)))
def test_publish_action_files_match_upstream_counts(expected_file):
    stats = json.loads(expected_file.read_text())["stats"]
    xml = expected_file.with_name(expected_file.name.removesuffix(".results.json") + ".xml")
    if stats["errors"]:
        # Upstream reports the file as an error (e.g. non-junit.xml: "Invalid format.").
        with pytest.raises(FormatError, match="not JUnit XML"):
            collect(xml)
        return
    rows, rejects, read = collect(xml)
    # One row per <testcase> element (upstream: "runs"); duplicated names are one test ("tests").
    outcome_by_test = {row["test_id"]: row["outcome"] for row in rows}
    deviation = DEVIATIONS.get(xml.stem)
    if deviation:
        assert (len(outcome_by_test), len(rejects)) == (deviation["tests"], deviation["rejects"])
        return
    assert read == stats["runs"]
    assert len(outcome_by_test) + len(rejects) == stats["tests"]
    if not rejects:
        counts = Counter(outcome_by_test.values())
        assert counts["expected"] == stats["tests_succ"]
        assert counts["skipped"] == stats["tests_skip"]
        assert counts["unexpected"] == stats["tests_fail"] + stats["tests_error"]


@pytest.mark.parametrize("exception_file", EXCEPTION_FILES, ids=lambda p: str(p.relative_to(PUBLISH_ACTION)))
def test_publish_action_broken_files_are_format_errors(exception_file):
    xml = exception_file.with_suffix(".xml")
    with pytest.raises(FormatError) as error:
        collect(xml)
    assert str(error.value).startswith(str(xml))
    assert "\n" not in str(error.value)


def test_publish_action_error_messages_name_the_problem():
    cases = {
        "xml/empty.xml": "file is empty",
        "xml/non-xml.xml": "neither a Playwright JSON report nor JUnit XML",
        "xml/not-existing.xml": "file does not exist",
        "junit-xml/non-junit.xml": "root element <suites>",
        "junit-xml/pytest/corrupt-xml.xml": "not well-formed XML (no element found: line 11",
    }
    for name, problem in cases.items():
        with pytest.raises(FormatError) as error:
            collect(PUBLISH_ACTION / name)
        assert problem in error.value.problem, name


def test_publish_action_nameless_testcases_are_rejected():
    rows, rejects, read = collect(PUBLISH_ACTION / "junit-xml" / "no-attributes.xml")
    assert (rows, read) == ([], 4)
    assert [(r.position, r.reason) for r in rejects] == [
        (f"testcase {n}", "field 'name': missing or empty") for n in range(1, 5)
    ]
    assert "".join(rejects[2].raw.split()) == "<testcase><failure/></testcase>"


def test_publish_action_details():
    multi, _, _ = collect(PUBLISH_ACTION / "junit-xml" / "junit.multiresult.xml")
    assert [(r["title"], r["outcome"], r["error_message"], r["duration_ms"]) for r in multi] == [
        ("test that errors", "unexpected", "test teardown failure", 123.0),
        ("test that fails", "unexpected", "test failure", 234.0),
        ("test that is skipped", "skipped", None, 345.0),
        ("test that succeeds", "expected", None, 456.0),
    ]
    disabled, _, _ = collect(PUBLISH_ACTION / "junit-xml" / "tst" / "disabled.xml")
    assert Counter(r["outcome"] for r in disabled if r["title"].startswith("disabled")) == {"skipped": 5}
    nested, _, _ = collect(PUBLISH_ACTION / "junit-xml" / "testsuite-in-testsuite.xml")
    assert [(r["title"], r["suite"], r["file"]) for r in nested] == [
        ("TestCase1", "Project Test Suite > TestSuite1 > someName", "/somepath"),
        ("TestCase2", "Project Test Suite > TestSuite1 > someName", "/somepath"),
        ("TestCase3", "Project Test Suite > TestSuite2 > TestSuite2.1 > someName", "/somepath"),
        ("TestCase4", "Project Test Suite > TestSuite2 > someName", "/somepath"),
        ("TestCase5", "Project Test Suite > someName", "/somepath"),
    ]
    mocha, _, _ = collect(PUBLISH_ACTION / "junit-xml" / "mocha" / "latex-utensils.xml")
    # timestamp="Sat, 03 Dec 2022 23:10:07 GMT" (RFC 2822)
    assert {r["run_started_at"] for r in mocha} == {datetime(2022, 12, 3, 23, 10, 7, tzinfo=UTC)}
    entities, _, _ = collect(PUBLISH_ACTION / "junit-xml" / "with-xml-entities.xml")
    assert [r["title"] for r in entities][:2] == [
        'Test with "quotes" in the test name',
        "Test with 'apostrophe' in the test name",
    ]


# --- JUnit: surefire reruns, properties, detection, streaming -----------------------------------

SUREFIRE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.PaymentsTest" tests="3" timestamp="2026-01-10T07:15:00" hostname="ci-7">
  <properties>
    <property name="commit_sha" value="9e1f00d"/>
    <property name="branch" value="main"/>
    <property name="project" value="api"/>
  </properties>
  <testcase name="refunds" classname="com.example.PaymentsTest" time="1.5">
    <flakyFailure message="Connection reset" type="java.net.SocketException"><stackTrace>at A</stackTrace>
    </flakyFailure>
    <flakyError message="Read timed out" type="java.net.SocketTimeoutException"/>
  </testcase>
  <testcase name="charges" classname="com.example.PaymentsTest" time="2,000.25">
    <failure message="expected: &lt;200&gt; but was: &lt;500&gt;" type="AssertionError"/>
    <rerunFailure message="expected: &lt;200&gt; but was: &lt;503&gt;" type="AssertionError"/>
    <rerunFailure message="expected: &lt;200&gt; but was: &lt;502&gt;" type="AssertionError"/>
  </testcase>
  <testcase name="voids" classname="com.example.PaymentsTest" time="soon"/>
</testsuite>
"""


def test_surefire_reruns_and_properties(tmp_path):
    # Detected by content: the extension says JSON.
    rows, rejects, read = collect(write(tmp_path, "TEST-com.example.PaymentsTest.json", SUREFIRE))
    assert read == 3
    flaky, failed = rows
    assert (
        flaky["status"],
        flaky["outcome"],
        flaky["retry"],
        flaky["error_message"],
        flaky["duration_ms"],
    ) == (
        "passed",
        "flaky",
        2,
        "Read timed out",
        1500.0,
    )
    assert (failed["status"], failed["outcome"], failed["retry"], failed["error_message"]) == (
        "failed",
        "unexpected",
        2,
        "expected: <200> but was: <502>",
    )
    assert failed["duration_ms"] == 2000250.0
    assert {(r["commit_sha"], r["branch"], r["project"]) for r in rows} == {("9e1f00d", "main", "api")}
    assert {r["suite"] for r in rows} == {"com.example.PaymentsTest"}
    assert {r["run_started_at"] for r in rows} == {datetime(2026, 1, 10, 7, 15, tzinfo=UTC)}
    assert [(r.position, r.reason) for r in rejects] == [
        ("testcase 3", "field 'time': not a number of seconds ('soon')")
    ]


def test_junit_run_ids(tmp_path):
    first = collect(write(tmp_path, "a.xml", SUREFIRE))[0]
    moved = tmp_path / "archive"
    moved.mkdir()
    same = collect(write(moved, "a.xml", SUREFIRE))[0]
    rerun = collect(write(tmp_path, "a2.xml", SUREFIRE.replace("07:15:00", "09:00:00")))[0]
    assert first[0]["run_id"] == same[0]["run_id"] != rerun[0]["run_id"]
    assert first[0]["test_id"] == rerun[0]["test_id"]

    bare = '<testsuite name="s"><testcase name="t"/></testsuite>'
    (row,), _, _ = collect(write(tmp_path, "junit.xml", bare))
    assert row["run_started_at"] == OBSERVED  # no timestamp anywhere
    other_day = list(
        test_reports.read(tmp_path / "junit.xml", source="ci", observed_at=datetime(2026, 2, 2, tzinfo=UTC))
    )
    assert other_day[0].tables["test_results"].column("run_id")[0].as_py() != row["run_id"]


def test_junit_namespaced_and_properties_on_testcase(tmp_path):
    xml = (
        '<testsuites xmlns="urn:example"><testsuite name="ui">'
        '<properties><property name="GIT_BRANCH" value="feature/x"/></properties>'
        '<testcase name="a"><properties><property name="project">firefox</property></properties></testcase>'
        '<testcase name="b"/></testsuite></testsuites>'
    )
    rows, _, _ = collect(write(tmp_path, "ns.xml", xml))
    assert [(r["title"], r["project"], r["branch"]) for r in rows] == [
        ("a", "firefox", "feature/x"),
        ("b", None, "feature/x"),
    ]


def test_junit_chunks_are_bounded(tmp_path):
    cases = "".join(f'<testcase classname="c" name="t{i}" time="0.1"/>' for i in range(25))
    path = write(tmp_path, "many.xml", f'<testsuite name="s">{cases}<testcase classname="c"/></testsuite>')
    chunks = list(test_reports.read(path, source="ci", chunk_rows=10, observed_at=OBSERVED))
    assert [c.rows_read for c in chunks] == [10, 10, 6]
    assert [c.accepted for c in chunks] == [10, 10, 5]


def test_junit_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "big.xml"
    with path.open("w") as out:
        out.write('<testsuites><testsuite name="big" timestamp="2026-01-01T00:00:00Z">\n')
        for i in range(30_000):
            out.write(f'<testcase classname="pkg.mod{i % 40}" name="test_{i}" time="0.01">')
            out.write(
                f"<system-out>output of test {i}, long enough to matter in a tree</system-out></testcase>\n"
            )
        out.write("</testsuite></testsuites>\n")
    list(test_reports.read(JUNITPARSER / "normal.xml", source="ci"))  # warm up lazy imports
    tracemalloc.start()
    try:
        read = sum(chunk.rows_read for chunk in test_reports.read(path, source="ci", chunk_rows=1_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read == 30_000
    # The file is ~4 MB and its whole ElementTree ~20 MB; streaming keeps about one chunk.
    assert path.stat().st_size > 3_500_000
    assert peak < 3_000_000


def test_ingest_balances(tmp_path):
    from opsledger.ingest import ingest_file

    result = ingest_file(
        tmp_path / "lake", "test_results", PUBLISH_ACTION / "junit-xml" / "no-attributes.xml"
    )
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (4, 0, 4)
    result = ingest_file(tmp_path / "lake", "test_results", PLAYWRIGHT / "report-valid.json")
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (14, 14, 0)
    assert pq.read_table(tmp_path / "lake" / "test_results").num_rows == 14
