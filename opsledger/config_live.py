"""The ``live:`` section of ``opsledger.yaml``: servers to collect from, and a test-report drop folder.

Each entry is exactly the settings model of its collector (``PrometheusSettings``,
``ElasticsearchSettings``, ``LdapSettings``), so every option of a collector — TLS, timeouts,
retries — is available here with the same name and validation. Secrets are never values: only the
names of the environment variables holding them (``*_env``), read when a collection connects.

Imported lazily by ``opsledger.config`` and only when the section is present: the live collectors
pull in ``elasticsearch``, ``ldap3`` and ``requests`` (~0.8 s), which file-only configs do not need.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from collectors.elasticsearch_live import ElasticsearchSettings
from collectors.ldap_live import LdapSettings
from collectors.prometheus_live import PrometheusSettings
from opsledger.errors import ConfigError

LiveKind = Literal["prometheus", "elasticsearch", "ldap"]
LiveSettings = PrometheusSettings | ElasticsearchSettings | LdapSettings


class TestReportDrop(BaseModel):
    """A folder CI jobs copy Playwright JSON / JUnit XML reports into; a Dagster sensor ingests each
    new file once into ``test_results``."""

    __test__ = False  # a settings model, not a pytest test class
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, description="the folder, relative to the config file")
    min_age_s: float = Field(
        default=10.0, ge=0, description="ignore files modified more recently: a copy may still be running"
    )
    interval_s: int = Field(default=30, ge=5, description="how often the sensor looks")


class LiveSources(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prometheus: list[PrometheusSettings] = Field(default_factory=list)
    elasticsearch: list[ElasticsearchSettings] = Field(default_factory=list)
    ldap: list[LdapSettings] = Field(default_factory=list)
    test_report_drop: TestReportDrop | None = None

    @field_validator("prometheus", "elasticsearch", "ldap")
    @classmethod
    def _unique_names(cls, sources: list) -> list:
        # Names become Dagster resource keys and op names, which allow only [A-Za-z0-9_]: two
        # names equal after that mapping would collide there.
        seen: dict[str, str] = {}
        for entry in sources:
            key = identifier(entry.name)
            if key in seen:
                raise ValueError(
                    f"source names {seen[key]!r} and {entry.name!r} are the same once "
                    "'.' and '-' become '_'; rename one"
                )
            seen[key] = entry.name
        return sources

    @property
    def any(self) -> bool:
        return bool(self.prometheus or self.elasticsearch or self.ldap or self.test_report_drop)

    def pick(self, kind: LiveKind, name: str | None) -> list[LiveSettings]:
        """The configured sources of ``kind``: all of them, or the one called ``name``."""
        sources: list[LiveSettings] = getattr(self, kind)
        if name is None:
            return list(sources)
        chosen = [s for s in sources if s.name == name]
        if not chosen:
            known = ", ".join(s.name for s in sources) or "none"
            raise ConfigError(f"live.{kind}: no source named {name!r} (configured: {known})")
        return chosen


def identifier(name: str) -> str:
    """A source name as a Dagster identifier (resource keys, op names)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def drop_folder(drop: TestReportDrop, base_dir: Path) -> Path:
    folder = Path(drop.path).expanduser()
    return folder if folder.is_absolute() else base_dir / folder


def parse(data: dict) -> LiveSources:
    return LiveSources.model_validate(data)
