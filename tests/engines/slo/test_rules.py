"""`opsledger slo rules`: Sloth's own examples must come out as Sloth generated them, and
promtool must accept every file we write."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from opsledger.cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "slo"
SLOTH = DATA / "sloth"
SPECS = sorted(p for p in SLOTH.glob("*.yml") if not p.name.endswith(".gen.yml"))
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
# Sloth's examples were generated with `--extra-labels cmd=examplesgen.sh` by a dev build.
SLOTH_ARGS = ["--extra-label", "cmd=examplesgen.sh", "--generator-version", "dev"]


def rules(*args: str) -> str:
    result = CliRunner().invoke(main, ["slo", "rules", *args])
    assert result.exit_code == 0, result.output
    return result.output


def without_generator_line(text: str) -> list[str]:
    return [line for line in text.splitlines() if not re.match(r"# (Code g|G)enerated by", line)]


def promtool_accepts(text: str, folder: Path) -> int:
    """Check each YAML document on its own (promtool reads only a file's first document);
    return the number of rules promtool found."""
    found = 0
    for index, document in enumerate(d for d in yaml.safe_load_all(text) if d is not None):
        path = folder / f"rules-{index}.yml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        check = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        found += int(re.search(r"SUCCESS: (\d+) rules found", check.stdout).group(1))
    return found


def test_every_sloth_example_has_a_golden():
    assert [p.name for p in SPECS] == [
        "getting-started.yml",
        "home-wifi.yml",
        "kubernetes-apiserver.yml",
        "multifile.yml",
        "no-alerts.yml",
        "openslo-getting-started.yml",
        "openslo-kubernetes-apiserver.yml",
        "raw-home-wifi.yml",
    ]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_rules_equal_what_sloth_generated(spec):
    golden = (SLOTH / spec.name.replace(".yml", ".gen.yml")).read_text()
    out = rules(str(spec), *SLOTH_ARGS)
    assert list(yaml.safe_load_all(out)) == list(yaml.safe_load_all(golden))
    # Byte for byte too, but for the line naming the generator.
    assert without_generator_line(out) == without_generator_line(golden)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_promtool_accepts_every_output(spec, tmp_path):
    out_file = tmp_path / "out.yml"
    result = CliRunner().invoke(main, ["slo", "rules", str(spec), "--out", str(out_file)])
    assert result.exit_code == 0, result.output
    groups = [g for d in yaml.safe_load_all(out_file.read_text()) for g in d["groups"]]
    assert promtool_accepts(out_file.read_text(), tmp_path) == sum(len(g["rules"]) for g in groups)


def test_no_alerts_spec_gives_recordings_only():
    doc = yaml.safe_load(rules(str(SLOTH / "no-alerts.yml")))
    assert [g["name"] for g in doc["groups"]] == [
        "sloth-slo-sli-recordings-myapp-http-availability",
        "sloth-slo-meta-recordings-myapp-http-availability",
    ]


def test_multifile_gives_one_document_per_spec_document():
    docs = list(yaml.safe_load_all(rules(str(SLOTH / "multifile.yml"))))
    services = [
        {r["labels"]["sloth_service"] for g in d["groups"] for r in g["rules"] if "record" in r} for d in docs
    ]
    assert services == [{"myservice"}, {"myservice2"}]


def alert_thresholds(doc: dict) -> list[tuple[str, str, str]]:
    """(severity, window, factor) of every condition in the alerts, in order."""
    found = []
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                for window, factor in re.findall(r"ratio_rate(\w+)\{[^}]*\} > \(([\d.]+) \*", rule["expr"]):
                    found.append((rule["labels"]["sloth_severity"], window, factor))
    return found


def test_custom_30d_windows_change_windows_and_factors(tmp_path):
    windows = SLOTH / "windows-custom-30d.yaml"
    out = rules(str(SLOTH / "getting-started.yml"), "--windows", str(windows))
    doc = yaml.safe_load(out)
    recorded = [r["labels"]["sloth_window"] for r in doc["groups"][0]["rules"]]
    assert recorded == ["2m", "15m", "30m", "1h", "3h", "12h", "1d12h", "30d"]
    # 1 % of 720 h in 30 m = 14.4; 2 % in 3 h = 4.8; 5 % in 12 h = 3; 5 % in 36 h = 1.
    assert alert_thresholds(doc) == [
        ("page", "2m", "14.4"), ("page", "30m", "14.4"), ("page", "15m", "4.8"), ("page", "3h", "4.8"),
        ("ticket", "1h", "3"), ("ticket", "12h", "3"), ("ticket", "3h", "1"), ("ticket", "1d12h", "1"),
    ]  # fmt: skip
    assert promtool_accepts(out, tmp_path) == 8 + 7 + 2


def test_7d_windows_for_a_7d_period(tmp_path):
    windows = SLOTH / "windows-7d.yaml"
    out = rules(str(SLOTH / "getting-started.yml"), "--windows", str(windows), "--default-period", "7d")
    doc = yaml.safe_load(out)
    meta = {r["record"]: r["expr"] for r in doc["groups"][1]["rules"]}
    assert meta["slo:time_period:days"] == "vector(7)"
    assert "slo:sli_error:ratio_rate1w{" in meta["slo:period_burn_rate:ratio"]  # Prometheus spells 7d "1w"
    # 8 % of 168 h in 1 h = 13.44; 12.5 % in 6 h = 3.5; 20 % in 1 d = 1.4; 42 % in 3 d = 0.98.
    factors = [float(f) for _, _, f in alert_thresholds(doc)][::2]
    assert factors == pytest.approx([13.44, 3.5, 1.4, 0.98], rel=1e-12)
    assert promtool_accepts(out, tmp_path) == 8 + 7 + 2


def test_a_period_without_windows_is_a_one_line_error():
    result = CliRunner().invoke(
        main, ["slo", "rules", str(SLOTH / "getting-started.yml"), "--default-period", "14d"]
    )
    assert result.exit_code == 1
    assert result.output == (
        "opsledger: error: no alert windows for an SLO period of 2w (known: 4w, 30d; "
        "add a Sloth AlertWindows file for it)\n"
    )


OPENSLO_V1 = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  labels:
    team: payments
spec:
  service: checkout
  indicator:
    metadata:
      name: checkout-errors
    spec:
      ratioMetric:
        {side}:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_requests_total{{job="checkout",code{op}~"5.."}}[{{{{.window}}}}]))
        total:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_requests_total{{job="checkout"}}[{{{{.window}}}}]))
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: available
      target: 0.995
"""


@pytest.mark.parametrize(("side", "op"), [("bad", "="), ("good", "!")])
def test_openslo_v1_prometheus_ratio_gives_the_same_rule_shape(side, op, tmp_path):
    spec = tmp_path / "checkout.yaml"
    spec.write_text(OPENSLO_V1.format(side=side, op=op))
    out = rules(str(spec))
    doc = yaml.safe_load(out)
    assert [g["name"] for g in doc["groups"]] == [
        "sloth-slo-sli-recordings-checkout-checkout-availability",
        "sloth-slo-meta-recordings-checkout-checkout-availability",
    ]
    sli = doc["groups"][0]["rules"]
    assert [r["labels"]["sloth_window"] for r in sli] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "4w"]
    one_hour = sli[2]
    assert one_hour["labels"]["team"] == "payments"
    if side == "bad":
        assert one_hour["expr"] == (
            '(sum(rate(http_requests_total{job="checkout",code=~"5.."}[1h])))\n/\n'
            '(sum(rate(http_requests_total{job="checkout"}[1h])))\n'
        )
    else:
        assert one_hour["expr"].startswith("(\n  1 - (\n    (\n      sum(rate(http_requests_total{")
    meta = {r["record"]: r for r in doc["groups"][1]["rules"]}
    assert meta["slo:objective:ratio"]["expr"] == "vector(0.995)"
    assert meta["slo:time_period:days"]["expr"] == "vector(28)"
    assert meta["sloth_slo_info"]["labels"]["sloth_spec"] == "openslo/v1"
    assert promtool_accepts(out, tmp_path) == 8 + 7


def test_rules_refuse_a_source_prometheus_cannot_evaluate(tmp_path):
    result = CliRunner().invoke(main, ["slo", "rules", str(DATA / "openslo" / "ratio-timeslices.yaml")])
    assert result.exit_code == 1
    assert result.output == (
        f"opsledger: error: {DATA / 'openslo' / 'ratio-timeslices.yaml'}: SLO 'main-page': Prometheus "
        "rules need Prometheus queries, not a source of type 'Any'\n"
    )
