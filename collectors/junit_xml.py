"""JUnit XML → ``test_results``, streamed with ``iterparse`` (each element dropped once read).

Shapes: a ``<testsuites>`` or a bare ``<testsuite>`` root, suites nested in suites (Jenkins,
PHPUnit), Maven surefire reruns. Per ``<testcase>`` (one record, ``testcase N``):

* no result element → passed / expected; ``<skipped/>`` (or ``status="disabled"``, ``"skipped"``,
  ``"notrun"``) → skipped / skipped;
* ``<failure>`` or ``<error>`` → failed / unexpected, and they win over a ``<skipped/>`` in the same
  testcase; surefire ``<rerunFailure>``/``<rerunError>`` (failed again on every rerun) are its retries;
* surefire ``<flakyFailure>``/``<flakyError>`` without a failure (it passed on a rerun) →
  passed / flaky, one retry per failed attempt;
* ``duration_ms`` = ``time`` seconds × 1000; ``error_message`` = the last failing element's
  ``message`` (else its text or ``type``); ``title`` = ``name``;
* ``suite`` = the enclosing testsuite names joined with `` > ``, plus ``classname`` when it differs
  from the innermost suite name (pytest calls its suite ``pytest``; the module is the classname);
* ``file`` = the testcase's ``file``, else the innermost suite's; ``project``, ``commit_sha``,
  ``branch`` = ``<properties>`` of the testcase, else of the innermost suite that has them
  (keys in ``collectors.test_reports``); properties written after a suite's testcases are missed;
* ``test_id`` = hash of file, suite path, classname, name and project.

Run: ``run_started_at`` = the root's ``timestamp``, else the first testsuite's (no zone → UTC),
else ``observed_at``. ``run_id`` = hash of the file name and the ``id``/``timestamp``/``hostname`` of
the root and the first testsuite, plus ``observed_at`` when neither has an ``id`` or ``timestamp``
(two timestamp-less ``junit.xml`` files are two runs). One file is one run.

Rejects: a testcase without a ``name`` or with a non-numeric ``time``; a leaf suite announcing
``tests="N"`` (N > 0) but holding no testcase (the results are not in the file, so they are
reported, not invented). Not XML, broken XML or another root element → FormatError.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from collectors.base import Chunk, FormatError
from collectors.test_reports import (
    BRANCH_KEYS,
    COMMIT_KEYS,
    PROJECT_KEYS,
    ResultRows,
    as_utc,
    error_summary,
    lookup,
    parse_time,
    stable_id,
)

SUITES, SUITE, CASE = "testsuites", "testsuite", "testcase"
FAILED = frozenset({"failure", "error"})
RERUN = frozenset({"rerunFailure", "rerunError"})
FLAKY = frozenset({"flakyFailure", "flakyError"})
SKIPPED_STATUSES = frozenset({"disabled", "skipped", "notrun"})


@dataclass
class _Context:
    """A testsuite (or the testsuites root) being read."""

    tag: str
    attrs: dict[str, str]
    number: int  # 1-based, in document order
    properties: dict[str, str] = field(default_factory=dict)
    testcases: int = 0
    nested_suites: int = 0
    _found: tuple[str | None, str | None, str | None] | None = None

    def add_properties(self, properties: dict[str, str]) -> None:
        self.properties.update(properties)
        self._found = None

    def found(self) -> tuple[str | None, str | None, str | None]:
        """(project, commit_sha, branch) from this suite's own properties, looked up once."""
        if self._found is None:
            self._found = tuple(
                lookup(self.properties, keys) for keys in (PROJECT_KEYS, COMMIT_KEYS, BRANCH_KEYS)
            )
        return self._found


@dataclass(frozen=True)
class _Run:
    run_id: str
    started_at: datetime


def read(
    path: Path, *, source: str, chunk_rows: int = 50_000, observed_at: datetime | None = None
) -> Iterator[Chunk]:
    path = Path(path)
    try:
        observed = (
            as_utc(observed_at) if observed_at else datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        )
        events = ET.iterparse(path, events=("start", "end"))
    except OSError as exc:
        raise FormatError(path, f"cannot read file ({exc.strerror or exc})") from None
    rows = ResultRows(source=source, source_format="junit", chunk_rows=chunk_rows)
    open_elements: list[ET.Element] = []
    contexts: list[_Context] = []
    run: _Run | None = None
    cases = suites = 0
    try:
        for event, elem in events:
            tag = _local(elem.tag)
            if event == "start":
                if not open_elements and tag not in (SUITES, SUITE):
                    raise FormatError(
                        path, f"root element <{tag}> is not <testsuites> or <testsuite>: not JUnit XML"
                    )
                open_elements.append(elem)
                if tag in (SUITES, SUITE):
                    if tag == SUITE:
                        suites += 1
                        if contexts:
                            contexts[-1].nested_suites += 1
                    contexts.append(_Context(tag, dict(elem.attrib), suites))
                if tag == SUITE and run is None:
                    run = _run(path, contexts[0].attrs, elem.attrib, observed)
                continue
            open_elements.pop()
            parent = _local(open_elements[-1].tag) if open_elements else None
            chunk = None
            if tag == "properties" and parent in (SUITES, SUITE):
                contexts[-1].add_properties(_properties(elem))
            elif tag == CASE:
                cases += 1
                for context in contexts:
                    context.testcases += 1
                run = run or _run(path, contexts[0].attrs, {}, observed)
                chunk = _testcase(elem, cases, contexts, run, rows)
            elif tag == SUITE:
                chunk = _empty_suite(contexts.pop(), rows)
            if chunk:
                yield chunk
            if parent in (SUITES, SUITE):
                elem.clear()
                open_elements[-1].remove(elem)  # keeps memory bounded: nothing read stays in the tree
    except ET.ParseError as exc:
        raise FormatError(path, f"not well-formed XML ({exc})") from None
    if chunk := rows.flush():
        yield chunk


def _testcase(elem: ET.Element, number: int, contexts: list[_Context], run: _Run, rows: ResultRows):
    position = f"testcase {number}"
    name = elem.get("name")
    if not name:
        return rows.reject(position, "field 'name': missing or empty", _raw(elem))
    time = elem.get("time")
    try:
        duration_ms = round(float(time.replace(",", "")) * 1000, 3) if time and time.strip() else None
    except ValueError:
        return rows.reject(position, f"field 'time': not a number of seconds ({time!r})", _raw(elem))

    results = [(_local(child.tag), child) for child in elem]
    failing = [child for tag, child in results if tag in FAILED | RERUN]
    flaky = [child for tag, child in results if tag in FLAKY]
    if any(tag in FAILED for tag, _ in results):
        retries = sum(tag in RERUN for tag, _ in results)
        status, outcome, retry, error = "failed", "unexpected", retries, failing[-1]
    elif flaky:
        status, outcome, retry, error = "passed", "flaky", len(flaky), flaky[-1]
    elif any(tag == "skipped" for tag, _ in results) or elem.get("status", "").lower() in SKIPPED_STATUSES:
        status, outcome, retry, error = "skipped", "skipped", 0, None
    else:
        status, outcome, retry, error = "passed", "expected", 0, None

    found = [c.found() for c in reversed(contexts)]
    found[:0] = [
        _Context(CASE, {}, 0, _properties(child)).found() for tag, child in results if tag == "properties"
    ]
    project, commit_sha, branch = (next(filter(None, column), None) for column in zip(*found, strict=True))
    suite_names = [c.attrs.get("name") for c in contexts if c.tag == SUITE and c.attrs.get("name")]
    classname = elem.get("classname") or None
    if classname and (not suite_names or suite_names[-1] != classname):
        suite_names.append(classname)
    file = elem.get("file") or next(
        (c.attrs["file"] for c in reversed(contexts) if c.attrs.get("file")), None
    )
    return rows.add(
        run_id=run.run_id,
        run_started_at=run.started_at,
        suite=" > ".join(suite_names) or None,
        file=file,
        test_id=stable_id(file, *suite_names, classname, name, project),
        title=name,
        project=project,
        status=status,
        outcome=outcome,
        duration_ms=duration_ms,
        retry=retry,
        error_message=_error_text(error),
        commit_sha=commit_sha,
        branch=branch,
    )


def _empty_suite(context: _Context, rows: ResultRows):
    declared = context.attrs.get("tests", "0")
    if context.testcases or context.nested_suites or not declared.isdigit() or int(declared) == 0:
        return None
    name = context.attrs.get("name", "")
    reason = f"field 'tests': testsuite {name!r} announces {declared} tests but holds no testcase element"
    return rows.reject(f"testsuite {context.number}", reason, _raw(ET.Element(SUITE, context.attrs)))


def _run(path: Path, root: dict[str, str], first_suite: dict[str, str], observed: datetime) -> _Run:
    started = parse_time(root.get("timestamp")) or parse_time(first_suite.get("timestamp")) or observed
    parts = [scope.get(key) for scope in (root, first_suite) for key in ("id", "timestamp", "hostname")]
    if not any(scope.get(key) for scope in (root, first_suite) for key in ("id", "timestamp")):
        parts.append(observed.isoformat())
    return _Run(stable_id("junit", path.name, *parts), started)


def _properties(elem: ET.Element) -> dict[str, str]:
    return {
        prop.get("name", ""): prop.get("value")
        if prop.get("value") is not None
        else (prop.text or "").strip()
        for prop in elem
        if _local(prop.tag) == "property" and prop.get("name")
    }


def _error_text(elem: ET.Element | None) -> str | None:
    if elem is None:
        return None
    return error_summary(elem.get("message") or "".join(elem.itertext()).strip() or elem.get("type"))


def _raw(elem: ET.Element) -> str:
    return ET.tostring(elem, encoding="unicode").strip()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
