"""The ``opsledger.yaml`` model: sources, tenants, and room for SLOs, funnels and controls.

A bad file fails with one line naming the file, the line, the field and the problem, e.g.
``opsledger.yaml:7: sources[1].kind: Input should be 'metric_samples', … (got 'logs')``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from opsledger.contract import INGEST_KINDS
from opsledger.errors import ConfigError

if TYPE_CHECKING:
    from opsledger.config_live import LiveSources

IngestKind = Literal[
    "metric_samples", "log_records", "audit_events", "directory", "test_results", "product_events"
]
assert set(IngestKind.__args__) == set(INGEST_KINDS)  # keep the config and the contract in step


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tenant(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str | None = None


class FileSource(_Model):
    """Files a collector reads. ``path`` is a glob relative to the config file; ``{date}`` in it
    stands for the partition day (YYYY-MM-DD), so daily files map onto daily partitions."""

    type: Literal["files"] = "files"
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: IngestKind
    path: str

    @field_validator("path")
    @classmethod
    def _no_other_placeholders(cls, value: str) -> str:
        unknown = set(re.findall(r"{([^}]*)}", value)) - {"date"}
        if unknown:
            raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}} (only {{date}} is supported)")
        return value


class SloSettings(_Model):
    specs: list[str] = Field(default_factory=list, description="folders or files of OpenSLO v1 specs")


class CreditTier(_Model):
    """A service credit owed when the month's uptime (in percent) is below ``below``."""

    below: float = Field(gt=0, le=100, description="uptime percent under which the credit applies")
    credit_percent: float = Field(ge=0, le=100)


class MaintenanceWindow(_Model):
    """Agreed maintenance: [start, end); a time without an offset is in the SLA's time zone."""

    start: datetime
    end: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("give both start and end with an offset, or neither")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Sla(_Model):
    """A contract on one configured SLO's SLI: monthly uptime in ``time_zone`` against ``target``
    (a ratio like 0.999, or ``target_percent`` like 99.9), credits by tier, maintenance excluded."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    slo: str = Field(description="name of a configured SLO whose per-minute facts the SLA is measured on")
    time_zone: str = "UTC"
    target: float | None = Field(default=None, gt=0, lt=1)
    target_percent: float | None = Field(default=None, gt=0, lt=100)
    credit_tiers: list[CreditTier] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    maintenance_from_audit: bool = False
    down_below: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="a minute with traffic is downtime when its good/total is below this ratio "
        "(e.g. 0.95: more than 5 % failing); default: the SLA target",
    )

    @field_validator("time_zone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (expected an IANA name like Europe/Berlin)"
            ) from None
        return value

    @model_validator(mode="after")
    def _one_target(self) -> Sla:
        if (self.target is None) == (self.target_percent is None):
            raise ValueError("give exactly one of target (a ratio) or target_percent")
        return self

    @property
    def target_ratio(self) -> float:
        return self.target if self.target is not None else self.target_percent / 100

    @property
    def downtime_threshold(self) -> float:
        # Low-traffic services need a looser per-minute rule: at 6 requests a minute one ordinary
        # failure would otherwise make the minute "down" under a 99.9 % contract.
        return self.down_below if self.down_below is not None else self.target_ratio


class OpsledgerConfig(_Model):
    partitions_start: date = Field(default=date(2026, 1, 1), description="first day of daily partitions")
    tenants: list[Tenant] = Field(default_factory=list)
    sources: list[FileSource] = Field(default_factory=list)
    slos: SloSettings = Field(default_factory=SloSettings)
    slas: list[Sla] = Field(default_factory=list)
    funnels: list[dict[str, Any]] = Field(default_factory=list)
    controls: list[dict[str, Any]] = Field(default_factory=list)
    live: dict[str, Any] = Field(
        default_factory=dict,
        description="live servers and the test-report drop folder (opsledger.config_live)",
    )

    base_dir: Path = Field(default=Path("."), exclude=True, description="folder of the config file")

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[FileSource]) -> list[FileSource]:
        names = [s.name for s in sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"source name {duplicates[0]!r} is used more than once")
        return sources

    _live: LiveSources | None = PrivateAttr(default=None)

    @property
    def live_sources(self) -> LiveSources:
        """The ``live:`` section, validated on first use (``load_config`` does it at load time)."""
        if self._live is None:
            from opsledger.config_live import parse

            self._live = parse(self.live)
        return self._live

    def sources_of(self, kind: str) -> list[FileSource]:
        return [s for s in self.sources if s.kind == kind]

    def resolve(self, source: FileSource, day: date | None = None) -> str:
        """The absolute glob of a source, with ``{date}`` filled in when a day is given."""
        pattern = source.path if day is None else source.path.replace("{date}", day.isoformat())
        return str(self.base_dir / pattern) if not Path(pattern).is_absolute() else pattern


def load_config(path: Path) -> OpsledgerConfig:
    """Read and validate a config file; a missing file gives the empty default config."""
    if not path.exists():
        return OpsledgerConfig(base_dir=path.parent)
    text = path.read_text(encoding="utf-8")
    data = read_yaml(path, text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping of settings")
    try:
        config = OpsledgerConfig.model_validate({**data, "base_dir": path.parent})
    except ValidationError as exc:
        raise field_error(path, text, exc.errors()[0]) from None
    if config.live:
        try:
            config.live_sources  # noqa: B018 - validate the live section now, with its line numbers
        except ValidationError as exc:
            raise field_error(path, text, exc.errors()[0], ("live",)) from None
    return config


def read_yaml(path: Path, text: str) -> object:
    """The YAML ``text`` of ``path``; invalid YAML fails naming the file and line."""
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None


def field_error(path: Path, text: str, error: dict, prefix: tuple = ()) -> ConfigError:
    """One line naming the file, the line, the field (under ``prefix``) and the problem of a
    pydantic ``error`` in the YAML ``text``."""
    loc = (*prefix, *error["loc"])
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    line = yaml_line(yaml.compose(text), loc)
    # The value of an unknown key is not echoed: it may be a secret put where only names belong.
    shown = "input" in error and error["type"] != "extra_forbidden"
    got = f" (got {error['input']!r})" if shown and not isinstance(error["input"], dict | list) else ""
    return ConfigError(f"{path}{f':{line}' if line else ''}: {field or 'settings'}: {error['msg']}{got}")


def yaml_line(node: yaml.Node | None, loc: tuple) -> int | None:
    """1-based line of the YAML node at ``loc`` (a path of keys and list indexes), or of its
    nearest existing ancestor below ``node``; None when not even the first step exists."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node, line = match, match.start_mark.line + 1
    return line
