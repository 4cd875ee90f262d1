"""The drop-folder sensor: each Playwright JSON / JUnit XML report copied into the configured folder
is ingested once into ``test_results``, by a small job around ``opsledger.ingest.ingest_file``.

The cursor maps each report (path relative to the folder) to the version it was requested at
(mtime and size): a file is requested once, again only if it is rewritten, and a report that
fails to parse fails its one run with the file's name instead of being retried every tick. The
run key is the same (file, version), so even a lost cursor cannot start a second run. Rows are
stored under the source ``test-report-drop:<relative path>``, so a rewritten report replaces
what its previous version stored. Files modified in the last ``min_age_s`` seconds wait for the
next tick: CI may still be copying them.

No ``from __future__ import annotations``: Dagster inspects the real types of op parameters.
"""

import json
import time
from pathlib import Path

import dagster as dg

from opsledger.config_live import TestReportDrop
from opsledger.errors import OpsledgerError
from pipelines.resources import LakeResource

SUFFIXES = {".json", ".xml"}
SOURCE_PREFIX = "test-report-drop:"


class TestReportFile(dg.Config):
    __test__ = False  # Dagster config, not a pytest test class

    path: str
    name: str  # path relative to the drop folder: names the rows' source


@dg.op(description="Ingest one dropped Playwright JSON or JUnit XML report into test_results.")
def ingest_test_report(context: dg.OpExecutionContext, config: TestReportFile, lake: LakeResource) -> None:
    from opsledger.ingest import ingest_file

    try:
        result = ingest_file(lake.path, "test_results", Path(config.path), source=SOURCE_PREFIX + config.name)
    except OpsledgerError as exc:
        message = str(exc)
        if config.path not in message:
            message = f"{config.path}: {message}"
        raise dg.Failure(description=f"test report not ingested: {message}", allow_retries=False) from None
    context.add_output_metadata(
        {
            "file": config.name,
            "rows_read": result.rows_read,
            "rows_written": result.rows_written,
            "rows_quarantined": result.rows_quarantined,
        }
    )


@dg.job(description="Ingest one report file from the test-report drop folder (started by its sensor).")
def test_report_ingest_job():
    ingest_test_report()


def report_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def build_test_report_sensor(folder: Path, drop: TestReportDrop) -> dg.SensorDefinition:
    @dg.sensor(
        name="test_report_drop_sensor",
        job=test_report_ingest_job,
        minimum_interval_seconds=drop.interval_s,
        description=f"Ingest each new Playwright/JUnit report dropped into {folder} once into test_results.",
    )
    def test_report_drop_sensor(context: dg.SensorEvaluationContext):
        if not folder.is_dir():
            return dg.SkipReason(f"the test-report drop folder {folder} does not exist")
        requested: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        now = time.time()
        current: dict[str, str] = {}
        runs: list[dg.RunRequest] = []
        for path in report_files(folder):
            name = path.relative_to(folder).as_posix()
            stat = path.stat()
            if now - stat.st_mtime < drop.min_age_s:
                if name in requested:
                    current[name] = requested[name]
                continue
            version = f"{stat.st_mtime_ns}-{stat.st_size}"
            current[name] = version
            if requested.get(name) != version:
                runs.append(
                    dg.RunRequest(
                        run_key=f"{name}@{version}",
                        run_config=dg.RunConfig(
                            ops={"ingest_test_report": TestReportFile(path=str(path), name=name)}
                        ),
                        tags={"opsledger/test_report": name},
                    )
                )
        # Only files still in the folder are remembered, so the cursor stays as small as the folder.
        cursor = json.dumps(current, sort_keys=True)
        if not runs:
            return dg.SensorResult(skip_reason=f"no new report in {folder}", cursor=cursor)
        return dg.SensorResult(run_requests=runs, cursor=cursor)

    return test_report_drop_sensor
