"""The 5-minute windowed history (what Sloth's recording rules hold at each evaluation) against
the status evaluation at the same instants, and against hand-counted windows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from opsledger.slo.durations import Shorthand
from opsledger.slo.evaluate import BURN_RATE_WINDOWS, evaluate_facts, windowed_history
from opsledger.slo.facts import FACTS_SCHEMA
from opsledger.slo.periods import window_at
from opsledger.slo.spec import SLO, Objective, Origin, PrometheusSource, RatioIndicator, TimeWindow

T0 = datetime(2026, 3, 2, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
STEP = timedelta(minutes=5)


def make_slo(days: int = 1, method: str = "Occurrences", rolling: bool = True) -> SLO:
    return SLO(
        name="api",
        service="api",
        objectives=(Objective(target=0.99, target_percent=99),),
        time_window=TimeWindow(duration=Shorthand(days, "d"), rolling=rolling),
        budgeting_method=method,
        indicator=RatioIndicator(
            bad=PrometheusSource(query="errors"), total=PrometheusSource(query="requests")
        ),
        origin=Origin(path=Path("test.yaml"), format="openslo/v1"),
    )


def facts(rows: list[tuple[str, datetime, float, float]]) -> pa.Table:
    return pa.table(
        {
            "slo": ["api"] * len(rows),
            "grp": [g for g, *_ in rows],
            "minute": [m for _, m, _, _ in rows],
            "good": [float(good) for *_, good, _ in rows],
            "total": [float(total) for *_, total in rows],
        },
        schema=FACTS_SCHEMA,
    )


def random_facts(seed: int, minutes: int) -> pa.Table:
    """Two groups over ``minutes``: gaps (absent minutes), minutes without traffic, bad bursts."""
    rng = random.Random(seed)
    rows = []
    for group in ("a", "b"):
        for i in range(minutes):
            if rng.random() < 0.2:
                continue
            total = rng.choice([0, 0, 1, 5, 40, 300])
            bad = rng.randint(0, total) if rng.random() < 0.1 else 0
            rows.append((group, T0 + i * MINUTE, total - bad, total))
    return facts(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_instant_equals_the_status_evaluation(seed):
    con = duckdb.connect()
    slo = make_slo(days=1)
    table = random_facts(seed, 3 * 1440)
    start, end = T0 + timedelta(hours=20), T0 + timedelta(days=3)
    history = windowed_history(con, table, slo, 0, start, end, STEP)
    instants = [start + i * STEP for i in range(int((end - start) / STEP) + 1)]
    status = evaluate_facts(con, table, slo, 0, [window_at(slo.time_window, t) for t in instants])

    assert history.num_rows == status.num_rows == 2 * len(instants)
    by_key = {(row["at"], row["group"]): row for row in status.to_pylist()}
    columns = [
        "good",
        "total",
        "sli",
        "error_budget_remaining",
        *(f"burn_rate_{w}" for w in BURN_RATE_WINDOWS),
    ]
    for row in history.to_pylist():
        expected = by_key[(row["at"], row["group"])]
        for column in columns:
            want = expected[column]
            got = row[column]
            assert got == (None if want is None else pytest.approx(want, rel=1e-12)), (row["at"], column)


def test_hand_counted_windows_and_an_empty_window():
    # 10 bad of 100 in the minute before 00:10, 1 bad of 100 at 00:00; nothing else.
    table = facts([("", T0, 99, 100), ("", T0 + 9 * MINUTE, 90, 100)])
    con = duckdb.connect()
    history = windowed_history(con, table, make_slo(), 0, T0 + 5 * MINUTE, T0 + 20 * MINUTE, STEP)
    rows = {row["at"]: row for row in history.to_pylist()}

    assert sorted(rows) == [T0 + m * MINUTE for m in (5, 10, 15, 20)]
    assert rows[T0 + 5 * MINUTE]["error_ratio_5m"] == pytest.approx(0.01)
    assert rows[T0 + 10 * MINUTE]["error_ratio_5m"] == pytest.approx(0.1)
    assert rows[T0 + 10 * MINUTE]["error_ratio_30m"] == pytest.approx(11 / 200)
    assert rows[T0 + 15 * MINUTE]["error_ratio_5m"] is None  # no events: no ratio
    assert rows[T0 + 20 * MINUTE]["sli"] == pytest.approx(189 / 200)
    assert rows[T0 + 20 * MINUTE]["error_budget_remaining"] == pytest.approx(1 - (11 / 200) / 0.01)


@pytest.mark.parametrize(
    ("slo", "step", "problem"),
    [
        (make_slo(method="Timeslices"), STEP, "rolling Occurrences"),
        (make_slo(rolling=False), STEP, "rolling Occurrences"),
        (make_slo(), timedelta(minutes=7), "dividing every window"),
    ],
)
def test_unsupported_shapes_are_refused(slo, step, problem):
    with pytest.raises(ValueError, match=problem):
        windowed_history(duckdb.connect(), facts([]), slo, 0, T0, T0 + timedelta(hours=1), step)
