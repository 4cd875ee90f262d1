"""Family-level validation of OpenMetrics 1.0 and Prometheus 0.0.4 text: ``parse_strict``.

The line grammar comes from ``collectors.openmetrics_parser``; this module adds every family-level
rule of the chosen format. For OpenMetrics, the checks of the conformance suite's reference parser
(prometheus/client_python ``openmetrics/parser.py``): grouping and ordering, clashing names,
counter/histogram/summary/stateset/info values, units, exemplar placement, ``# EOF``. For Prometheus
text, those of prometheus/common expfmt's ``TextParser``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal

from collectors.openmetrics_parser import (
    METRIC_NAME,
    NUMBER,
    LineError,
    Sample,
    SampleLine,
    number,
    parse_sample_line,
    unescape,
)

OM_TYPES = frozenset(
    {"counter", "gauge", "histogram", "gaugehistogram", "stateset", "info", "summary", "unknown"}
)
PROM_TYPES = frozenset({"counter", "gauge", "histogram", "gauge_histogram", "summary", "untyped"})


def parse_strict(text: str, *, fmt: str = "openmetrics") -> list[Sample]:
    """Every sample of ``text``, or ``ValueError("line N: …")`` on any violation of the format.

    ``fmt`` is ``"openmetrics"`` (OpenMetrics 1.0, as its conformance suite defines it) or
    ``"prometheus"`` (the 0.0.4 text format, as prometheus/common expfmt's TextParser reads it).
    """
    if fmt not in ("openmetrics", "prometheus"):
        raise ValueError(f"fmt must be 'openmetrics' or 'prometheus', not {fmt!r}")
    validator = _OpenMetricsValidator() if fmt == "openmetrics" else _PrometheusValidator()
    return validator.run(text)


_TYPE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "histogram": ("_count", "_sum", "_bucket", "_created"),
    "gaugehistogram": ("_gcount", "_gsum", "_bucket"),
    "info": ("_info",),
}
_COUNTER_LIKE = ("_total", "_sum", "_count", "_bucket", "_gcount", "_gsum")
_UNIT = re.compile(r"[a-zA-Z0-9_:]*")
_KEYWORD = re.compile(r"([^ \t]*)[ \t]*(.*)", re.S)


@dataclass
class _Family:
    name: str
    type: str | None = None
    help: str | None = None
    unit: str | None = None
    samples: list[tuple[Sample, Decimal | None]] = field(default_factory=list)
    group: tuple | None = None
    group_ts: Decimal | None = None
    seen_groups: set[tuple] = field(default_factory=set)

    def allows(self, name: str) -> bool:
        return any(name == self.name + s for s in _TYPE_SUFFIXES.get(self.type or "unknown", ("",)))


def _canonical_number(text: str) -> bool:
    # The conformance suite only demands canonical spelling of +Inf ("+Inf", not "+INF"/"Inf").
    return (
        bool(NUMBER.fullmatch(text))
        and not math.isnan(float(text))
        and (float(text) != math.inf or text == "+Inf")
    )


class _OpenMetricsValidator:
    def __init__(self) -> None:
        self.family: _Family | None = None
        self.seen_names: set[str] = set()
        self.samples: list[Sample] = []

    def run(self, text: str) -> list[Sample]:
        if not text:
            raise ValueError("line 1: missing '# EOF' at the end")
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()  # the line feed after "# EOF" is optional
        eof = False
        for number_, line in enumerate(lines, 1):
            try:
                if eof:
                    raise LineError("text after '# EOF'")
                if line == "# EOF":
                    eof = True
                elif not line:
                    raise LineError("blank line")
                elif line.startswith("#"):
                    self._metadata(line)
                else:
                    self._sample(parse_sample_line(line, openmetrics=True))
            except LineError as error:
                raise ValueError(f"line {number_}: {error}") from None
        try:
            self._finish()
        except LineError as error:
            raise ValueError(f"line {len(lines)}: {error}") from None
        if not eof:
            raise ValueError(f"line {len(lines)}: missing '# EOF' at the end")
        return self.samples

    def _metadata(self, line: str) -> None:
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[0] != "#" or parts[1] not in ("HELP", "TYPE", "UNIT"):
            raise LineError("comment: only '# HELP|TYPE|UNIT <name> <text>' and '# EOF' are allowed")
        _, keyword, name, text = parts
        if not METRIC_NAME.fullmatch(name):
            raise LineError(f"{keyword}: invalid metric name {name!r}")
        family = self.family
        if family is not None and family.name == name:
            if family.samples:
                raise LineError(f"{keyword} for {name!r} after its samples")
        else:
            self._finish()
            family = self.family = _Family(name)
        if getattr(family, keyword.lower()) is not None:
            raise LineError(f"{keyword}: second {keyword} line for {name!r}")
        if keyword == "TYPE" and text not in OM_TYPES:
            raise LineError(f"TYPE: unknown metric type {text!r}")
        if keyword == "UNIT" and not _UNIT.fullmatch(text):
            raise LineError(f"UNIT: invalid unit {text!r}")
        setattr(family, keyword.lower(), text)

    def _sample(self, line: SampleLine) -> None:
        family = self.family
        if family is None or not family.allows(line.name):
            self._finish()
            family = self.family = _Family(line.name, type="unknown")
        typ, name, labels, value = family.type or "unknown", family.name, line.labels, line.value
        suffix = line.name[len(name) :]
        if typ == "stateset" and name not in labels:
            raise LineError(f"labels: a stateset sample needs a label named {name!r}")
        if (
            typ in ("histogram", "gaugehistogram")
            and suffix == "_bucket"
            and not _canonical_number(labels.get("le", ""))
        ):
            raise LineError(f"label 'le': missing or not a canonical number ({labels.get('le')!r})")
        if typ == "summary" and not suffix:
            quantile = labels.get("quantile", "")
            if not _canonical_number(quantile) or not 0 <= float(quantile) <= 1:
                raise LineError(
                    f"label 'quantile': missing or not a number in [0, 1] ({labels.get('quantile')!r})"
                )
        ts = _decimal(line.timestamp)
        group = _group(line, family, typ)
        if family.group is not None and group != family.group and group in family.seen_groups:
            raise LineError(f"samples of {name!r} with labels {dict(group)} are not contiguous")
        if family.group is not None and group == family.group:
            if (ts is None) != (family.group_ts is None):
                raise LineError("timestamp: some samples of one metric point have timestamps, others not")
            if ts is not None and ts < family.group_ts and typ != "info":
                raise LineError("timestamp: went backwards within one metric")
        family.group, family.group_ts = group, ts
        family.seen_groups.add(group)
        if typ == "stateset" and value not in (0, 1):
            raise LineError("value: stateset samples must be 0 or 1")
        if typ == "info" and value != 1:
            raise LineError("value: info samples must be 1")
        if typ == "summary" and not suffix and value < 0:
            raise LineError("value: quantile values cannot be negative")
        if suffix in _COUNTER_LIKE and math.isnan(value):
            raise LineError(f"value: {suffix} samples cannot be NaN")
        if suffix in _COUNTER_LIKE and suffix != "_gsum" and value < 0:
            raise LineError(f"value: {suffix} samples cannot be negative")
        if line.exemplar is not None and not (
            (typ in ("histogram", "gaugehistogram") and suffix == "_bucket")
            or (typ == "counter" and suffix == "_total")
        ):
            raise LineError("exemplar: only histogram buckets and counter totals can have exemplars")
        sample = Sample(line.name, labels, value, _seconds(line, openmetrics=True), line.exemplar)
        family.samples.append((sample, ts))
        self.samples.append(sample)

    def _finish(self) -> None:
        family, self.family = self.family, None
        if family is None:
            return
        typ = family.type or "unknown"
        for suffix in {"", *_TYPE_SUFFIXES.get(typ, ())}:
            if family.name + suffix in self.seen_names:
                raise LineError(
                    f"metric family {family.name!r}: name {family.name + suffix!r} clashes with another"
                )
            self.seen_names.add(family.name + suffix)
        if family.unit and not family.name.endswith("_" + family.unit):
            raise LineError(f"UNIT: metric name {family.name!r} must end in '_{family.unit}'")
        if family.unit and typ in ("info", "stateset"):
            raise LineError(f"UNIT: not allowed on {typ} {family.name!r}")
        if typ in ("histogram", "gaugehistogram"):
            _check_histogram(family)


def _group(line: SampleLine, family: _Family, typ: str) -> tuple:
    """The metric point a sample belongs to: its labels minus the one that varies inside a point."""
    if typ == "info":
        return ()  # the reference parser cannot tell info points apart
    drop = None
    if typ == "summary" and line.name == family.name:
        drop = "quantile"
    elif typ == "stateset":
        drop = family.name
    elif typ in ("histogram", "gaugehistogram") and line.name == family.name + "_bucket":
        drop = "le"
    return tuple(sorted((k, v) for k, v in line.labels.items() if k != drop))


@dataclass
class _Point:
    bound: float | None = None  # the last bucket's le
    value: float = 0.0  # the last bucket's count
    count: float | None = None
    negative: bool = False
    sum: bool = False
    gsum: bool = False
    negative_gsum: bool = False


def _check_histogram(family: _Family) -> None:
    """Bucket order, +Inf bucket, _count/_sum rules per metric point (OpenMetrics 1.0 §Histogram)."""
    name, points, previous = family.name, [], None
    for sample, ts in family.samples:
        key = (tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le")), ts)
        if key != previous:
            points.append(_Point())
            previous = key
        point, suffix = points[-1], sample.name[len(name) :]
        if suffix == "_bucket":
            bound = float(sample.labels["le"])
            if point.bound is not None and bound <= point.bound:
                raise LineError(f"histogram {name!r}: buckets out of order")
            if sample.value < point.value:
                raise LineError(f"histogram {name!r}: bucket values decrease")
            point.bound, point.value, point.negative = bound, sample.value, point.negative or bound < 0
        elif suffix in ("_count", "_gcount"):
            point.count = sample.value
        elif suffix in ("_sum", "_gsum"):
            setattr(point, suffix[1:], True)
            point.negative_gsum |= suffix == "_gsum" and sample.value < 0
    for point in points:
        if point.bound != math.inf:
            raise LineError(f"histogram {name!r}: +Inf bucket missing")
        if point.count is not None and point.value != point.count:
            raise LineError(f"histogram {name!r}: count does not match the +Inf bucket")
        if (point.sum or point.gsum) != (point.count is not None):
            raise LineError(f"histogram {name!r}: _count/_gcount and _sum/_gsum must come together")
        if point.negative and point.sum:
            raise LineError(f"histogram {name!r}: _sum is not allowed with negative buckets")
        if not point.negative and point.negative_gsum:
            raise LineError(f"histogram {name!r}: negative _gsum needs negative buckets")


@dataclass
class _PromFamily:
    type: str | None = None
    help: bool = False


class _PrometheusValidator:
    """The rules of prometheus/common expfmt's TextParser (text format 0.0.4)."""

    def __init__(self) -> None:
        self.families: dict[str, _PromFamily] = {}

    def run(self, text: str) -> list[Sample]:
        lines = text.split("\n")
        samples: list[Sample] = []
        for number_, line in enumerate(lines, 1):
            try:
                stripped = line.lstrip(" \t")
                if stripped.startswith("#"):
                    self._comment(stripped[1:].lstrip(" \t"))
                elif stripped:
                    samples.append(self._sample(parse_sample_line(line, openmetrics=False)))
            except LineError as error:
                raise ValueError(f"line {number_}: {error}") from None
        if lines[-1].strip(" \t"):
            raise ValueError(f"line {len(lines)}: no line feed at the end of the input")
        return samples

    def _family(self, name: str) -> _PromFamily:
        # A _sum/_count/_bucket sample belongs to the summary/histogram declared under its base name.
        if name in self.families:
            return self.families[name]
        for suffixes, typ in ((("_sum", "_count"), "summary"), (("_sum", "_count", "_bucket"), "histogram")):
            for suffix in suffixes:
                base = self.families.get(name[: -len(suffix)]) if name.endswith(suffix) else None
                if base is not None and base.type == typ:
                    return base
        return self.families.setdefault(name, _PromFamily())

    def _comment(self, text: str) -> None:
        keyword, rest = _KEYWORD.match(text).groups()
        if keyword not in ("HELP", "TYPE") or not rest:
            return  # plain comment, or HELP/TYPE with nothing after it: ignored by expfmt
        match = METRIC_NAME.match(rest)
        name = match.group() if match else ""
        after = rest[len(name) :]
        if not after:
            return
        if after[0] not in " \t":
            raise LineError(f"{keyword}: invalid metric name in comment ({rest.split()[0]!r})")
        family, after = self._family(name), after.lstrip(" \t")
        if not after:
            return
        if keyword == "HELP":
            if family.help:
                raise LineError(f"HELP: second HELP line for {name!r}")
            unescape(after, "HELP", openmetrics=False)  # only to reject bad escapes
            family.help = True
        elif family.type is not None:
            raise LineError(f"TYPE: second TYPE line for {name!r}, or TYPE after its samples")
        elif after.lower() not in PROM_TYPES:
            raise LineError(f"TYPE: unknown metric type {after!r}")
        else:
            family.type = after.lower().replace("gauge_histogram", "gaugehistogram")

    def _sample(self, line: SampleLine) -> Sample:
        family = self._family(line.name)
        if family.type is None:
            family.type = "untyped"
        checked = {"summary": "quantile", "histogram": "le"}.get(family.type)
        if checked in line.labels:
            number(line.labels[checked], f"label {checked!r}")
        if line.timestamp is not None and not -(2**63) <= int(line.timestamp) < 2**63:
            raise LineError(f"timestamp: {line.timestamp} does not fit in 64 bits")
        return Sample(line.name, line.labels, line.value, _seconds(line, openmetrics=False))


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _seconds(line: SampleLine, *, openmetrics: bool) -> float | None:
    if line.timestamp is None:
        return None
    return float(line.timestamp) if openmetrics else int(line.timestamp) / 1000
