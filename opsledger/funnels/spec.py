"""A funnel definition, as written in ``opsledger.yaml``'s ``funnels:`` list or on the command line.

Conversion windows are absolute seconds (the reference semantics: daylight-saving shifts do not
matter), written as a count and one unit:

=====  ===================================
``s``  second
``m``  minute (60 s)
``h``  hour (3 600 s)
``d``  day (86 400 s)
``w``  week (7 d)
``M``  month, fixed at 30 d (2 592 000 s)
=====  ===================================

A bare integer is seconds. Months are fixed-length because a window is a duration measured from
each person's own step-1 time, not a calendar period.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from opsledger.funnels.notation import parse_exclusion

WINDOW_UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "M": 2_592_000}
_WINDOW = re.compile(r"^\s*(\d+)\s*([smhdwM]?)\s*$")
MAX_STEPS = 20

PropertyValue = str | int | float | bool


def parse_window(value: object) -> int:
    """``"14d"`` → 1 209 600 seconds; raises ValueError naming the accepted units."""
    if isinstance(value, bool):
        raise ValueError("window: expected a duration such as 14d, 30m or 2M")
    if isinstance(value, int):
        seconds = value
    else:
        match = _WINDOW.match(str(value))
        if not match:
            raise ValueError(
                f"window {value!r}: expected a count and a unit (s, m, h, d, w, M = 30 days), e.g. 14d"
            )
        seconds = int(match.group(1)) * WINDOW_UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"window {value!r}: must be longer than zero")
    return seconds


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Model):
    """An event name, optionally narrowed by properties that must equal the given values."""

    event: str = Field(min_length=1)
    properties: dict[str, PropertyValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"event": value} if isinstance(value, str) else value


class Exclusion(_Model):
    """People who do ``event`` between step ``from_step`` and step ``to_step`` (1-based) are excluded.

    As text: ``EVENT[PROPERTY=VALUE,…]:FROM-TO`` (``opsledger.funnels.notation``)."""

    event: str = Field(min_length=1)
    properties: dict[str, PropertyValue] = Field(default_factory=dict)
    from_step: int = Field(ge=1)
    to_step: int = Field(ge=2)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return parse_exclusion(value.strip()) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ordered(self) -> Exclusion:
        if self.to_step <= self.from_step:
            raise ValueError(f"exclusion {self.event}: to_step must come after from_step")
        return self


def _utc(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # naive times in a spec mean UTC, like the data
    return value


class FunnelSpec(_Model):
    """Steps, conversion window, mode, counting unit, breakdown, exclusions, date range, tenant.

    ``identities`` merges several ``distinct_id``s into one person (PostHog's ``$identify`` /
    alias): a CSV or Parquet file (by its ``.csv``/``.parquet`` suffix) or otherwise a warehouse
    table or view, with columns ``distinct_id, person_id``. Persons and totals then count
    ``person_id`` (an unmapped id stays its own person); sessions are not affected. Each
    ``distinct_id`` may map to one person only (``opsledger.funnels.identities``).

    ``breakdowns`` are further properties the dashboard offers to break the funnel down by; the
    marts precompute each (``breakdown`` is the one the CLI and the steps mart use).
    """

    name: str | None = None
    steps: list[Step] = Field(min_length=2, max_length=MAX_STEPS)
    window_seconds: int = Field(default=14 * 86_400, validation_alias="window")
    mode: Literal["ordered", "strict", "unordered"] = "ordered"
    count: Literal["persons", "totals", "sessions"] = "persons"
    breakdown: str | None = None
    attribution: Literal["first_touch", "last_touch"] = "first_touch"
    exclusions: list[Exclusion] = Field(default_factory=list, max_length=MAX_STEPS)
    date_from: Annotated[datetime | None, BeforeValidator(_utc)] = Field(default=None, alias="from")
    date_to: Annotated[datetime | None, BeforeValidator(_utc)] = Field(default=None, alias="to")
    tenant: str | None = None
    identities: str | None = Field(default=None, min_length=1)
    breakdowns: list[str] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("window_seconds", mode="before")
    @classmethod
    def _window(cls, value: Any) -> int:
        return parse_window(value)

    @model_validator(mode="after")
    def _consistent(self) -> FunnelSpec:
        for exclusion in self.exclusions:
            if exclusion.to_step > len(self.steps):
                raise ValueError(
                    f"exclusion {exclusion.event}: to_step {exclusion.to_step} is past the last step "
                    f"({len(self.steps)})"
                )
        names = [s.event for s in self.steps]
        if self.mode == "unordered" and len(set(names)) != len(names):
            # One event could then satisfy two steps; an unordered funnel needs one event per step.
            raise ValueError("an unordered funnel needs a different event for every step")
        if self.date_from and self.date_to and self.date_to <= self.date_from:
            raise ValueError("the date range ends before it starts")
        return self

    @property
    def step_names(self) -> list[str]:
        return [s.event for s in self.steps]
