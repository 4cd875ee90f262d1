"""Loading SLO specs: OpenSLO v1 examples, SLI references, SQL sources, and one-line errors that
name the file, line, document and field."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from opsledger.cli import main
from opsledger.errors import ConfigError
from opsledger.slo import load_specs
from opsledger.slo.durations import Shorthand
from opsledger.slo.spec import PrometheusSource, RatioIndicator, SqlSource, ThresholdIndicator

DATA = Path(__file__).resolve().parents[2] / "data" / "slo"
OPENSLO = DATA / "openslo"


def test_openslo_budgeting_examples_load():
    (occurrences,) = load_specs([OPENSLO / "occurences-slo.yaml"])
    assert (occurrences.name, occurrences.service, occurrences.budgeting_method) == (
        "search-slo", "web-shop", "Occurrences",
    )  # fmt: skip
    assert isinstance(occurrences.indicator, ThresholdIndicator)
    (objective,) = occurrences.objectives
    assert (objective.op, objective.value, objective.target) == ("lt", 500, 0.99)
    assert occurrences.time_window.rolling and occurrences.time_window.length == timedelta(weeks=2)

    (ratio,) = load_specs([OPENSLO / "ratio-timeslices.yaml"])
    assert ratio.budgeting_method == "RatioTimeslices"
    assert ratio.objectives[0].time_slice_window == timedelta(minutes=1)
    assert ratio.indicator.good.kind == "unspecified" and ratio.indicator.good.type == "Any"

    (sla,) = load_specs([OPENSLO / "timeslices-slo.yaml"])
    assert [(o.display_name, o.target, o.time_slice_target) for o in sla.objectives] == [
        ("Internal objective", 0.995, 0.99),
        ("SLA", 0.99, 0.99),
    ]
    assert [sla.objective_name(i) for i in range(2)] == ["service-availability-0", "service-availability-1"]

    (low,) = load_specs([OPENSLO / "low-traffic-timeslices-slo.yaml"])
    window = low.time_window
    assert (window.rolling, window.duration, window.calendar_unit, window.time_zone) == (
        False, Shorthand(1, "w"), "week", "America/New_York",
    )  # fmt: skip
    # OpenSLO's startTime is local to the window's time zone (EST in January: UTC−5).
    assert window.start == datetime(2022, 1, 1, 12, tzinfo=ZoneInfo("America/New_York"))
    assert window.start.utcoffset() == timedelta(hours=-5)
    assert low.objectives[0].time_slice_target == 0.95


def test_folder_loads_every_document_and_skips_windows_and_generated_rules():
    slos = load_specs([OPENSLO, DATA / "sloth"])
    assert len(slos) == 4 + 13
    assert sum(s.origin.format == "openslo/v1alpha" for s in slos) == 4


SLI_FILE = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: api-5xx
spec:
  ratioMetric:
    bad:
      metricSource:
        type: SQL
        spec:
          table: log_records
          filter: http_status >= 500
    total:
      metricSource:
        type: SQL
        spec:
          table: log_records
"""

SLO_FILE = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api-availability
spec:
  service: api
  indicatorRef: {ref}
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar:
        startTime: 2026-01-01 00:00:00
        timeZone: Europe/Paris
  budgetingMethod: Occurrences
  objectives:
    - targetPercent: 99.5
"""


def test_sli_reference_across_files_of_a_folder(tmp_path):
    (tmp_path / "sli.yaml").write_text(SLI_FILE)
    (tmp_path / "slo.yaml").write_text(SLO_FILE.format(ref="api-5xx"))
    (slo,) = load_specs([tmp_path])
    assert isinstance(slo.indicator, RatioIndicator)
    assert slo.indicator.bad == SqlSource(table="log_records", filter="http_status >= 500")
    assert slo.indicator.total == SqlSource(table="log_records")
    assert slo.objectives[0].target == pytest.approx(0.995)
    assert (slo.time_window.calendar_unit, slo.time_window.time_zone) == ("month", "Europe/Paris")


def test_unknown_sli_reference(tmp_path):
    (tmp_path / "slo.yaml").write_text(SLO_FILE.format(ref="nope"))
    with pytest.raises(ConfigError) as info:
        load_specs([tmp_path])
    assert str(info.value) == f"{tmp_path / 'slo.yaml'}:7: spec.indicatorRef: no kind: SLI named 'nope' found"


def test_sloth_events_become_a_bad_over_total_ratio():
    slos = load_specs([DATA / "sloth" / "kubernetes-apiserver.yml"])
    latency = slos[1]
    assert (latency.name, latency.objectives[0].target_percent, latency.labels) == (
        "requests-latency", 99, {"cluster": "valhalla", "component": "kubernetes", "category": "latency"},
    )  # fmt: skip
    assert isinstance(latency.indicator.bad, PrometheusSource)
    assert latency.alerting.name == "K8sApiserverLatencyAlert"
    assert latency.alerting.page.labels == {"severity": "critical"}


OCCURRENCES = (OPENSLO / "occurences-slo.yaml").read_text()
TIMESLICES = (OPENSLO / "low-traffic-timeslices-slo.yaml").read_text()
RATIO = (OPENSLO / "ratio-timeslices.yaml").read_text()
GETTING_STARTED = (DATA / "sloth" / "getting-started.yml").read_text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            OCCURRENCES.replace("target: 0.99", "target: 1.5"),
            ":28: spec.objectives[0].target: must be in (0, 1), got 1.5",
        ),
        (
            OCCURRENCES.replace("target: 0.99", "targetPercent: 100"),
            ":28: spec.objectives[0].targetPercent: must be in (0, 100), got 100.0",
        ),
        (
            TIMESLICES.replace("timeSliceWindow: 1m", "timeSliceWindow: 2w"),
            ":36: spec.objectives[0].timeSliceWindow: a slice is longer than the time window 1w",
        ),
        (
            OCCURRENCES.replace("budgetingMethod: Occurrences", "budgetingMethod: Occurences"),
            ":23: spec.budgetingMethod: Input should be 'Occurrences', 'Timeslices' or 'RatioTimeslices'"
            " (got 'Occurences')",
        ),
        (
            RATIO.replace("type: Any # Here", "type: Datadog # Here", 1),
            ":18: spec.indicator.spec.ratioMetric.good.metricSource.type: unknown metric source type"
            " 'Datadog' (opsledger reads Prometheus or SQL)",
        ),
        (
            RATIO.replace("        total:", "        totl:"),
            ":16: spec.indicator.spec.ratioMetric.total: required: a ratio metric needs total and one of good"
            " or bad",
        ),
        (
            RATIO.replace("duration: 2w", "duration: 2 weeks"),
            ":27: spec.timeWindow[0].duration: not a duration: '2 weeks' (expected a positive count and one"
            " unit of s, m, h, d, w, M, Q, Y, e.g. 28d or 1M)",
        ),
        (
            TIMESLICES.replace("America/New_York", "America/Gotham"),
            ":29: spec.timeWindow[0].calendar.timeZone: unknown time zone 'America/Gotham' (expected an IANA"
            " name like Europe/Paris)",
        ),
        (
            RATIO.replace("duration: 2w", "duration: 1M"),
            ":27: spec.timeWindow[0].duration: a rolling window needs a fixed length (m, h, d, w), got 1M",
        ),
        (
            GETTING_STARTED.replace("objective: 99.9", "objective: 120"),
            ":10: slos[0].objective: must be a percentage in (0, 100), got 120.0",
        ),
        (
            GETTING_STARTED.replace("[{{.window}}]", "[5m]"),
            ":14: slos[0].sli.events.error_query: the query needs the {{.window}} placeholder where its range"
            " goes, e.g. [{{.window}}]",
        ),
        ("apiVersion: v1\nkind: ConfigMap\n", ":1: apiVersion: not an SLO spec (apiVersion 'v1'); expected"
         " apiVersion openslo/v1 or openslo/v1alpha, or Sloth's version: prometheus/v1"),
        ("spec: [\n", ":2: not valid YAML: expected the node content, but found '<stream end>'"),
    ],
    ids=[
        "target", "target-percent", "slice-longer", "method", "source-type", "missing-total", "duration",
        "time-zone", "rolling-month", "sloth-objective", "sloth-window", "not-a-spec", "not-yaml",
    ],
)  # fmt: skip
def test_invalid_spec_is_one_line_naming_file_line_and_field(text, expected, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_specs([path])
    assert str(info.value) == f"{path}{expected}"


def test_error_in_a_multi_document_file_names_the_document(tmp_path):
    text = (DATA / "sloth" / "multifile.yml").read_text().replace("objective: 99.99", "objective: 0")
    path = tmp_path / "multi.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_specs([path])
    assert str(info.value) == (
        f"{path}:43 (document 2): slos[0].objective: must be a percentage in (0, 100), got 0.0"
    )


def test_cli_validate_lists_each_slo(tmp_path):
    result = CliRunner().invoke(main, ["slo", "validate", str(OPENSLO)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "service-availability\tservice=web-availability\ttarget=99.95%\twindow=calendar 1w (America/New_York)"
        "\tmethod=Timeslices",
        "search-slo\tservice=web-shop\ttarget=99%\twindow=rolling 2w\tmethod=Occurrences",
        "main-page\tservice=web-shop\ttarget=99%\twindow=rolling 2w\tmethod=RatioTimeslices",
        "service-availability\tservice=web-availability\ttarget=99.5%, 99%\twindow=calendar 1m"
        " (America/New_York)\tmethod=Timeslices",
        "4 SLO(s) valid",
    ]


def test_cli_validate_stops_at_the_first_invalid_spec(tmp_path):
    shutil.copy(OPENSLO / "ratio-timeslices.yaml", tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text(OCCURRENCES.replace("target: 0.99", "target: 0"))
    result = CliRunner().invoke(main, ["slo", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (
        f"opsledger: error: {tmp_path / 'b.yaml'}:28: spec.objectives[0].target: must be in (0, 1), got 0.0\n"
    )
