"""The test-report drop sensor with real reports: each new file is ingested once into test_results,
a bad file fails its one run naming the file, and a second evaluation requests nothing."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from opsledger.settings import Settings
from pipelines.definitions import build_definitions

DATA = Path(__file__).resolve().parent.parent / "data" / "test-results"
PLAYWRIGHT = (
    DATA / "playwright" / "report-valid.json"
)  # 14 tests: 10 expected, 2 unexpected, 1 flaky, 1 skipped
JUNIT = DATA / "junit" / "junitparser" / "normal.xml"  # 3 cases: failed, skipped, passed
NOT_XML = DATA / "junit" / "publish-unit-test-result-action" / "xml" / "non-xml.xml"


@pytest.fixture
def drop_home(tmp_path) -> Settings:
    settings = Settings(home=tmp_path / "home")
    settings.home_dir.mkdir(parents=True)
    settings.config_path.write_text("live:\n  test_report_drop:\n    path: drop\n    min_age_s: 5\n")
    (settings.home_dir / "drop").mkdir()
    return settings


def drop(settings: Settings, source: Path, name: str, age_s: float = 60) -> Path:
    target = settings.home_dir / "drop" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    then = time.time() - age_s
    os.utime(target, (then, then))
    return target


def evaluate(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    sensor = defs.resolve_sensor_def("test_report_drop_sensor")
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, repository_def=defs.get_repository_def()
    )
    return sensor.evaluate_tick(context)


def run(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest):
    job = defs.resolve_job_def("test_report_ingest_job")
    return job.execute_in_process(
        run_config=request.run_config, instance=instance, tags=request.tags, raise_on_error=False
    )


def stored(settings: Settings) -> list[tuple]:
    files = list(settings.lake_dir.glob("test_results/*/*.parquet"))
    if not files:
        return []
    query = "select source_format, outcome, title from read_parquet(?)"
    return duckdb.sql(query, params=[[str(f) for f in files]]).fetchall()


def test_each_dropped_report_is_ingested_once(drop_home):
    drop(drop_home, PLAYWRIGHT, "ci-4711/report.json")
    drop(drop_home, JUNIT, "junit.xml")
    # Modified "now" however slow this machine is (mtime ahead of the clock): younger than min_age_s.
    drop(drop_home, PLAYWRIGHT, "still-copying.json", age_s=-3600)
    (drop_home.home_dir / "drop" / "notes.txt").write_text("not a report")
    defs = build_definitions(drop_home)
    with dg.instance_for_test() as instance:
        first = evaluate(defs, instance, None)
        names = sorted(r.tags["opsledger/test_report"] for r in first.run_requests)
        assert names == ["ci-4711/report.json", "junit.xml"]
        assert all(run(defs, instance, r).success for r in first.run_requests)

        rows = stored(drop_home)
        assert Counter(fmt for fmt, _, _ in rows) == {"playwright": 14, "junit": 3}
        assert Counter(outcome for fmt, outcome, _ in rows if fmt == "playwright") == {
            "expected": 10,
            "unexpected": 2,
            "flaky": 1,
            "skipped": 1,
        }
        assert {title for fmt, _, title in rows if fmt == "junit"} == {
            "should default path to an empty string",
            "should default consolidate to true",
            "should default useDotNotation to true",
        }

        second = evaluate(defs, instance, first.cursor)
        assert second.run_requests == []

        # The young file, once settled, is requested; the others still are not.
        young = drop_home.home_dir / "drop" / "still-copying.json"
        then = time.time() - 60
        os.utime(young, (then, then))
        third = evaluate(defs, instance, second.cursor)
        assert [r.tags["opsledger/test_report"] for r in third.run_requests] == ["still-copying.json"]


def test_a_rewritten_report_replaces_its_rows_instead_of_adding(drop_home):
    path = drop(drop_home, JUNIT, "junit.xml")
    defs = build_definitions(drop_home)
    with dg.instance_for_test() as instance:
        first = evaluate(defs, instance, None)
        assert run(defs, instance, first.run_requests[0]).success
        shutil.copyfile(JUNIT, path)  # CI overwrote it with the same content: new mtime
        then = time.time() - 30
        os.utime(path, (then, then))
        second = evaluate(defs, instance, first.cursor)
        assert len(second.run_requests) == 1
        assert second.run_requests[0].run_key != first.run_requests[0].run_key
        assert run(defs, instance, second.run_requests[0]).success
        assert len(stored(drop_home)) == 3


def test_a_bad_file_fails_its_one_run_naming_the_file(drop_home):
    bad = drop(drop_home, NOT_XML, "broken.xml")
    defs = build_definitions(drop_home)
    with dg.instance_for_test() as instance:
        first = evaluate(defs, instance, None)
        (request,) = first.run_requests
        result = run(defs, instance, request)
        assert not result.success
        (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        message = failure.step_failure_data.user_failure_data.description
        assert str(bad) in message and "neither a Playwright JSON report nor JUnit XML" in message
        assert "\n" not in message
        # Not requested again on the next tick: no crash loop over one bad file.
        assert evaluate(defs, instance, first.cursor).run_requests == []
    assert stored(drop_home) == []


def test_a_missing_drop_folder_is_a_skip_naming_it(drop_home):
    shutil.rmtree(drop_home.home_dir / "drop")
    defs = build_definitions(drop_home)
    with dg.instance_for_test() as instance:
        result = evaluate(defs, instance, None)
    assert result.run_requests == []
    assert f"{drop_home.home_dir / 'drop'} does not exist" in result.skip_message
