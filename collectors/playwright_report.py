"""Playwright JSON reporter output → ``test_results`` (one row per test per project).

The report is loaded whole: the JSON reporter writes one document (typically well under
100 MB), and ``json`` cannot stream it; rows still leave in chunks of ``chunk_rows``.

Per test (``suites[].specs[].tests[]``, one per project):

* ``outcome`` = the test's ``status`` (Playwright's verdict: expected / unexpected / flaky /
  skipped); ``status`` = the last result's status; ``retry`` = the last result's ``retry``
  (= retries used); ``duration_ms`` = the last result's duration;
* ``error_message`` = the last result's error; for a flaky test (last attempt passed) the
  error of its last failed attempt, so flaky failures can be clustered too;
* ``suite`` = the describe path (``a > b``), ``title`` = the spec title, ``file`` = the spec
  file, ``project`` = ``projectName``;
* ``test_id`` = hash of file, describe path, title and project;
* ``run_started_at`` = ``stats.startTime``, else the earliest result ``startTime``, else
  ``observed_at``; ``run_id`` = hash of that start time and the report's file name (the file
  name rather than the full path, so moving a report does not change its run).

A test whose outcome or status is not one Playwright writes, or that has no results although
it was not skipped, is rejected as ``test N (file > title, project)``. A JSON document without
the reporter's top-level ``config`` and ``suites`` is not a Playwright report → FormatError.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from collectors.base import Chunk, FormatError
from collectors.test_reports import (
    BRANCH_KEYS,
    COMMIT_KEYS,
    ResultRows,
    as_utc,
    error_summary,
    lookup,
    parse_time,
    stable_id,
)

OUTCOMES = frozenset({"expected", "unexpected", "flaky", "skipped"})
STATUSES = frozenset({"passed", "failed", "timedOut", "skipped", "interrupted"})


def read(
    path: Path, *, source: str, chunk_rows: int = 50_000, observed_at: datetime | None = None
) -> Iterator[Chunk]:
    path = Path(path)
    report = _load(path)
    tests = list(_walk(path, report["suites"], []))
    metadata = [report["config"].get("metadata"), report.get("metadata")]
    commit_sha = next(filter(None, (lookup(m, COMMIT_KEYS) for m in metadata)), None)
    branch = next(filter(None, (lookup(m, BRANCH_KEYS) for m in metadata)), None)
    stats = report.get("stats") if isinstance(report.get("stats"), dict) else {}
    run_started_at = parse_time(stats.get("startTime")) or _earliest_start(tests)
    if run_started_at is None:
        run_started_at = (
            as_utc(observed_at) if observed_at else datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        )
    run_id = stable_id("playwright", run_started_at.isoformat(), path.name)

    rows = ResultRows(source=source, source_format="playwright", chunk_rows=chunk_rows)
    for number, (describe, spec, test) in enumerate(tests, start=1):
        file = spec.get("file")
        project = (
            (test.get("projectName") or test.get("projectId") or None) if isinstance(test, dict) else None
        )
        title_path = " > ".join([str(file), *describe, str(spec.get("title"))])
        position = f"test {number} ({title_path}{', ' + project if project else ''})"
        problem = _problem(test)
        if problem:
            chunk = rows.reject(position, problem, json.dumps(test, ensure_ascii=False))
        else:
            results = test["results"]
            last = results[-1] if results else {}
            chunk = rows.add(
                run_id=run_id,
                run_started_at=run_started_at,
                suite=" > ".join(describe) or None,
                file=file,
                test_id=stable_id(file, *describe, spec.get("title"), project),
                title=spec.get("title"),
                project=project,
                status=last.get("status", "skipped"),
                outcome=test["status"],
                duration_ms=float(last["duration"]) if "duration" in last else None,
                retry=last.get("retry", len(results) - 1) if results else 0,
                error_message=_error(results),
                commit_sha=commit_sha,
                branch=branch,
            )
        if chunk:
            yield chunk
    if chunk := rows.flush():
        yield chunk


def _load(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            report = json.load(handle)
    except json.JSONDecodeError as exc:
        raise FormatError(path, f"not valid JSON ({exc})") from None
    except UnicodeDecodeError as exc:
        raise FormatError(path, f"not UTF-8 JSON ({exc.reason} at byte {exc.start})") from None
    if not isinstance(report, dict) or not isinstance(report.get("suites"), list):
        found = ", ".join(map(str, report)) if isinstance(report, dict) else type(report).__name__
        raise FormatError(
            path, f"not a Playwright JSON report: no top-level 'config' and 'suites' (found {found})"
        )
    if not isinstance(report.get("config"), dict):
        raise FormatError(
            path, "not a Playwright JSON report: top-level 'config' is missing or not an object"
        )
    return report


def _walk(path: Path, suites: list, describe: list[str]) -> Iterator[tuple[list[str], dict, object]]:
    """(describe path, spec, test) for every test; top-level suites are files, nested ones describes."""
    for suite in suites:
        if not isinstance(suite, dict):
            raise FormatError(path, f"suite under {' > '.join(describe) or 'the report'} is not an object")
        inner = [*describe, str(suite.get("title", ""))] if _is_describe(suite, describe) else describe
        for spec in suite.get("specs") or []:
            if not isinstance(spec, dict) or not isinstance(spec.get("tests"), list):
                raise FormatError(path, f"spec in suite {suite.get('title')!r} has no 'tests' list")
            spec = {**spec, "file": spec.get("file") or suite.get("file")}
            for test in spec["tests"]:
                yield inner, spec, test
        yield from _walk(path, suite.get("suites") or [], inner)


def _is_describe(suite: dict, describe: list[str]) -> bool:
    # A file's own suite (the top level) is titled with its path; it is the `file`, not a describe.
    return bool(describe) or suite.get("title") != suite.get("file")


def _problem(test: object) -> str | None:
    if not isinstance(test, dict):
        return "test is not an object"
    if test.get("status") not in OUTCOMES:
        return f"field 'status': unknown outcome {test.get('status')!r} (expected one of {sorted(OUTCOMES)})"
    results = test.get("results")
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        return "field 'results': missing or not a list of results"
    if not results:
        return None if test["status"] == "skipped" else f"field 'results': empty for a {test['status']} test"
    last = results[-1]
    if last.get("status") not in STATUSES:
        return f"field 'results[-1].status': unknown status {last.get('status')!r}"
    if "duration" in last and not isinstance(last["duration"], int | float):
        return f"field 'results[-1].duration': not a number ({last['duration']!r})"
    if "retry" in last and not isinstance(last["retry"], int):
        return f"field 'results[-1].retry': not an integer ({last['retry']!r})"
    return None


def _error(results: list[dict]) -> str | None:
    for result in reversed(results):
        error = result.get("error") or next(iter(result.get("errors") or []), None)
        message = error.get("message") or error.get("value") if isinstance(error, dict) else None
        if message:
            return error_summary(message)
    return None


def _earliest_start(tests: list[tuple[list[str], dict, object]]) -> datetime | None:
    starts = [
        parse_time(result.get("startTime"))
        for _, _, test in tests
        if isinstance(test, dict)
        for result in test.get("results") or []
        if isinstance(result, dict)
    ]
    return min((s for s in starts if s), default=None)
