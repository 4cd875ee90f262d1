"""Line grammar of the Prometheus 0.0.4 text format and OpenMetrics 1.0.

``parse_sample_line`` turns one sample line into tokens (or raises ``LineError`` naming the field
and the problem); the lenient collector (``collectors.openmetrics``) and the strict validator
(``collectors.openmetrics_strict.parse_strict``) share it.

The two formats differ where it matters for a reader:

* OpenMetrics: exactly one space between tokens, no trailing comma in label sets, timestamps in
  **seconds** (float), exemplars after `` # ``, unknown label escapes kept as written (what the
  OpenMetrics conformance suite expects, e.g. ``\\z``), ``# EOF`` ends the exposition.
* Prometheus text: blanks (space/tab) anywhere between tokens, a trailing comma allowed, timestamps
  in **milliseconds** (int64), only ``\\\\``, ``\\"`` and ``\\n`` escapes (prometheus/common expfmt).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Decimal floats plus Inf/Infinity/NaN, as Go's ParseFloat and Python's float() accept them, minus
# hex floats and digit separators, which neither format allows.
NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
    r"|[nN][aA][nN]"
)
OM_TIMESTAMP = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
PROM_TIMESTAMP = re.compile(r"[+-]?[0-9]+")
_LABEL_VALUE = re.compile(r'((?:[^"\\]|\\.)*)"', re.S)
_ESCAPE = re.compile(r"\\(.)", re.S)
_BLANKS = re.compile(r"[ \t]*")
_BLANK_RUN = re.compile(r"[ \t]+")
# Timestamps must stay inside what datetime, Parquet readers and DuckDB all represent: years 1..9999.
MIN_US = -62_135_596_800_000_000
MAX_US = 253_402_300_799_999_999
EXEMPLAR_LABEL_CHARS = 128


class LineError(ValueError):
    """One line breaks the grammar; the message names the field and the problem."""


@dataclass(frozen=True, slots=True)
class Exemplar:
    labels: dict[str, str]
    value: float
    timestamp: float | None


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample line: its name as written, unescaped labels, value, timestamp in seconds."""

    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None = None
    exemplar: Exemplar | None = None


@dataclass(frozen=True, slots=True)
class SampleLine:
    name: str
    labels: dict[str, str]
    value: float
    timestamp: str | None  # as written: seconds (OpenMetrics) or milliseconds (Prometheus)
    exemplar: Exemplar | None


def number(text: str, field: str) -> float:
    if not NUMBER.fullmatch(text):
        raise LineError(f"{field}: not a number ({text!r})" if text else f"{field}: missing")
    return float(text)


def timestamp_us(text: str, *, openmetrics: bool) -> int:
    """Microseconds since the epoch; OpenMetrics writes seconds, Prometheus text milliseconds."""
    if openmetrics:
        if not OM_TIMESTAMP.fullmatch(text):
            raise LineError(f"timestamp: not a number of seconds ({text!r})")
        # Same float arithmetic as the vectorized path in collectors.openmetrics, so both agree.
        us = float(text) * 1e6
        us = round(us) if math.isfinite(us) else MAX_US + 1
    else:
        if not PROM_TIMESTAMP.fullmatch(text):
            raise LineError(f"timestamp: not an integer number of milliseconds ({text!r})")
        us = int(text) * 1000
    if not MIN_US <= us <= MAX_US:
        raise LineError(f"timestamp: {text} is outside the years 1-9999")
    return us


def unescape(raw: str, field: str, *, openmetrics: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        char = match.group(1)
        if char in '\\"':
            return char
        if char == "n":
            return "\n"
        if openmetrics:
            return match.group(0)
        raise LineError(f"{field}: invalid escape sequence {match.group(0)!r}")

    return _ESCAPE.sub(replace, raw) if "\\" in raw else raw


def parse_labels(line: str, pos: int, *, openmetrics: bool) -> tuple[dict[str, str], int]:
    """Parse a label set whose ``{`` ends before ``pos``; return the labels and the index after ``}``."""
    labels: dict[str, str] = {}
    blanks = (lambda p: p) if openmetrics else (lambda p: _BLANKS.match(line, p).end())
    pos = blanks(pos)
    if line.startswith("}", pos):
        return labels, pos + 1
    while True:
        match = LABEL_NAME.match(line, pos)
        if not match:
            found = repr(line[pos]) if pos < len(line) else "end of line"
            raise LineError(f"labels: expected a label name, found {found}")
        name, pos = match.group(), blanks(match.end())
        if not line.startswith("=", pos):
            raise LineError(f"label {name!r}: expected '=' after the name")
        pos = blanks(pos + 1)
        if not line.startswith('"', pos):
            raise LineError(f"label {name!r}: value must be in double quotes")
        match = _LABEL_VALUE.match(line, pos + 1)
        if not match:
            raise LineError(f"label {name!r}: value has no closing quote")
        if name in labels:
            raise LineError(f"label {name!r}: duplicate label name")
        if name == "__name__":
            raise LineError("label '__name__': reserved for the metric name")
        labels[name] = unescape(match.group(1), f"label {name!r}", openmetrics=openmetrics)
        pos = blanks(match.end())
        if line.startswith("}", pos):
            return labels, pos + 1
        if not line.startswith(",", pos):
            raise LineError(f"label {name!r}: expected ',' or '}}' after the value")
        pos = blanks(pos + 1)
        if not openmetrics and line.startswith("}", pos):
            return labels, pos + 1


def parse_sample_line(line: str, *, openmetrics: bool) -> SampleLine:
    """Tokens of one sample line (without its line feed) or ``LineError``."""
    return _openmetrics_sample(line) if openmetrics else _prometheus_sample(line)


def _metric_name(line: str, pos: int) -> tuple[str, int]:
    match = METRIC_NAME.match(line, pos)
    if not match:
        found = repr(line[pos]) if pos < len(line) else "nothing"
        raise LineError(f"metric name: must start with a letter, '_' or ':', found {found}")
    end = match.end()
    if end < len(line) and line[end] not in " \t{":
        raise LineError(f"metric name: invalid character {line[end]!r} in {line[: end + 1]!r}")
    return match.group(), end


def _openmetrics_sample(line: str) -> SampleLine:
    name, pos = _metric_name(line, 0)
    labels: dict[str, str] = {}
    if line.startswith("{", pos):
        labels, pos = parse_labels(line, pos + 1, openmetrics=True)
    if not line.startswith(" ", pos):
        raise LineError(f"value: expected one space before it, found {line[pos : pos + 1] or 'nothing'!r}")
    # Label values are consumed already, so " # " can only start an exemplar now.
    head, hashed, tail = line[pos + 1 :].partition(" # ")
    value, timestamp = _value_timestamp(head, "")
    return SampleLine(name, labels, value, timestamp, _exemplar(tail) if hashed else None)


def _value_timestamp(text: str, field: str) -> tuple[float, str | None]:
    tokens = text.split(" ")
    if len(tokens) > 2 or "" in tokens:
        raise LineError(f"{field}value/timestamp: expected 'value [timestamp]' separated by single spaces")
    if len(tokens) == 2 and not OM_TIMESTAMP.fullmatch(tokens[1]):
        raise LineError(f"{field}timestamp: not a number of seconds ({tokens[1]!r})")
    return number(tokens[0], f"{field}value"), tokens[1] if len(tokens) == 2 else None


def _exemplar(text: str) -> Exemplar:
    if not text.startswith("{"):
        raise LineError("exemplar: label set must follow ' # '")
    labels, pos = parse_labels(text, 1, openmetrics=True)
    if sum(len(k) + len(v) for k, v in labels.items()) > EXEMPLAR_LABEL_CHARS:
        raise LineError(f"exemplar: labels exceed {EXEMPLAR_LABEL_CHARS} characters")
    if not text.startswith(" ", pos):
        raise LineError("exemplar: expected a space and a value after its labels")
    value, timestamp = _value_timestamp(text[pos + 1 :], "exemplar ")
    return Exemplar(labels, value, None if timestamp is None else float(timestamp))


def _prometheus_sample(line: str) -> SampleLine:
    name, pos = _metric_name(line, _BLANKS.match(line).end())
    pos = _BLANKS.match(line, pos).end()
    labels: dict[str, str] = {}
    if line.startswith("{", pos):
        labels, pos = parse_labels(line, pos + 1, openmetrics=False)
        pos = _BLANKS.match(line, pos).end()
    tokens = [token for token in _BLANK_RUN.split(line[pos:]) if token]
    value = number(tokens[0] if tokens else "", "value")
    if len(tokens) > 2:
        raise LineError(f"unexpected text after the timestamp ({' '.join(tokens[2:])!r})")
    timestamp = tokens[1] if len(tokens) == 2 else None
    if timestamp is not None and not PROM_TIMESTAMP.fullmatch(timestamp):
        raise LineError(f"timestamp: not an integer number of milliseconds ({timestamp!r})")
    return SampleLine(name, labels, value, timestamp, None)


def type_check(name: str, labels: dict[str, str], types: dict[str, str]) -> str | None:
    """Why a sample cannot be read as its family's type, else None.

    Only what both formats' reference parsers demand of every sample: a histogram bucket needs a
    numeric ``le``, a summary quantile a numeric ``quantile``; without them histogram and quantile
    queries cannot use the row. ``types`` maps family names to lower-case types.
    """
    if name.endswith("_bucket") and types.get(name[:-7]) in ("histogram", "gaugehistogram"):
        label, kind = "le", types[name[:-7]]
    elif types.get(name) == "summary":
        label, kind = "quantile", "summary"
    else:
        return None
    if label not in labels:
        return f"label {label!r}: missing on a {kind} sample"
    if not NUMBER.fullmatch(labels[label]) or labels[label].lower() == "nan":
        return f"label {label!r}: not a number ({labels[label]!r})"
    return None
