"""Generate product events for the funnel benchmark, vectorized and deterministic, as a Parquet lake.

Persons make 0–3 shopping journeys (``view_item`` → ``add_to_cart`` → ``begin_checkout`` →
``purchase``) with per-step drop-off and delays drawn per step: most people move on within
minutes, some come back days later, so a share of conversions fall outside a 14-day window. The
rest of the events are unrelated (page views, searches, logins, …) or stray funnel events at
random times (repeated views, a cart with no view before it, a purchase long after), spread over
persons with a skew (a few heavy users). Timestamps are whole seconds over ~30 days from
``START``, so ClickHouse's second-resolution ``windowFunnel`` sees exactly the same times.

Rows go to ``<workdir>/events-…/lake/product_events/date=YYYY-MM-DD/part-0.parquet`` (zstd), the
lake layout the warehouse's views read, sorted by time within each day. A ``meta.json`` beside
the lake records the counts, and lets a later run with the same arguments reuse it.

    python tests/benchmarks/make_events.py --events 10000000 --persons 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opsledger.contract import SCHEMAS

VERSION = 1  # bump when the data shape changes, so stale lakes are regenerated
START = datetime(2026, 10, 1, tzinfo=UTC)
SPAN_S = 30 * 86_400
DAY_S = 86_400
DEFAULT_WORKDIR = Path("/tmp/opsledger-bench")

STEPS = ("view_item", "add_to_cart", "begin_checkout", "purchase")
# Chance of moving on to step k+1 from step k within a journey.
ADVANCE = (0.45, 0.60, 0.70)
# Per step: median delay (s) of the quick majority, then the share that comes back 1–20 days later.
DELAYS = ((600, 0.05), (1_800, 0.10), (120, 0.05))
JOURNEYS = (0.30, 0.45, 0.18, 0.07)  # P(0, 1, 2, 3 journeys) per person
NOISE = {
    "$pageview": 0.46,
    "search": 0.14,
    "product_list": 0.14,
    "login": 0.09,
    "logout": 0.05,
    "view_item": 0.06,
    "add_to_cart": 0.03,
    "begin_checkout": 0.015,
    "purchase": 0.015,
}
BROWSERS = ['{"$browser": "Chrome", "plan": "free"}', '{"$browser": "Firefox", "plan": "pro"}',
            '{"$browser": "Safari", "plan": "free"}', '{"$browser": "Edge", "plan": "team"}']  # fmt: skip
TENANTS = ["acme", "globex", "initech"]
SCHEMA = SCHEMAS["product_events"]


def ensure(events: int, persons: int, workdir: Path = DEFAULT_WORKDIR, seed: int = 11) -> tuple[Path, dict]:
    """The lake folder for these arguments and its meta, generated unless already there."""
    root = workdir / f"events-{events}-{persons}-s{seed}-v{VERSION}"
    meta_path = root / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        meta["reused"] = True
        return root / "lake", meta
    shutil.rmtree(root, ignore_errors=True)
    tmp = root.with_name(f".{root.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    meta = generate(tmp / "lake", events, persons, seed)
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    os.replace(tmp, root)
    meta["reused"] = False
    return root / "lake", meta


def _journeys(rng: np.random.Generator, persons: int, budget: int) -> tuple[np.ndarray, ...]:
    """(person, step index 0–3, second) of every funnel-journey event, at most ``budget`` of them."""
    count = rng.choice(len(JOURNEYS), size=persons, p=JOURNEYS)
    person = np.repeat(np.arange(persons), count)
    n = len(person)
    start = rng.integers(0, SPAN_S - DAY_S, size=n)
    reached = np.ones((n, len(STEPS)), dtype=bool)
    at = np.zeros((n, len(STEPS)), dtype=np.int64)
    at[:, 0] = start
    for k, (p, (median, late)) in enumerate(zip(ADVANCE, DELAYS, strict=True), start=1):
        reached[:, k] = reached[:, k - 1] & (rng.random(n) < p)
        quick = np.floor(rng.lognormal(np.log(median), 1.0, size=n)).astype(np.int64)
        slow = rng.integers(DAY_S, 20 * DAY_S, size=n)
        at[:, k] = at[:, k - 1] + np.where(rng.random(n) < late, slow, quick)
    # The export ends after SPAN_S: later steps of late journeys are not in it (yet).
    rows, steps = np.nonzero(reached & (at < SPAN_S))
    if len(rows) > budget:
        rows, steps = rows[:budget], steps[:budget]
    return person[rows], steps, at[rows, steps], rows


def generate(lake: Path, events: int, persons: int, seed: int) -> dict:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    person, step, second, journey = _journeys(rng, persons, events)
    names = list(NOISE)
    n_noise = events - len(person)
    # Heavy users: activity weights from a log-normal, so a few persons have hundreds of events.
    weight = rng.lognormal(0.0, 1.0, size=persons)
    noise_person = np.searchsorted(np.cumsum(weight / weight.sum()), rng.random(n_noise))
    noise_person = np.minimum(noise_person, persons - 1)
    noise_event = rng.choice(len(names), size=n_noise, p=list(NOISE.values()))
    noise_second = rng.integers(0, SPAN_S, size=n_noise)
    vocabulary = pa.array(names + [s for s in STEPS if s not in names])
    code = {name: i for i, name in enumerate(vocabulary.to_pylist())}
    step_codes = np.array([code[s] for s in STEPS])

    who = np.concatenate([person, noise_person])
    what = np.concatenate([step_codes[step], noise_event])
    when = np.concatenate([second, noise_second])
    # A session per journey; unrelated events share one session per person and day.
    session = np.concatenate([journey, len(journey) + noise_person * 64 + noise_second // DAY_S])
    order = np.argsort(when, kind="stable")
    who, what, when, session = who[order], what[order], when[order], session[order]

    ts = pa.array((when + int(START.timestamp())) * 1_000_000, pa.int64()).cast(SCHEMA.field("ts").type)
    ids = pc.binary_join_element_wise("u", pc.utf8_lpad(pa.array(who).cast(pa.string()), 7, "0"), "")
    table = pa.table(
        {
            "ts": ts,
            "distinct_id": ids,
            "event": pa.DictionaryArray.from_arrays(pa.array(what, pa.int32()), vocabulary).cast(pa.string()),
            "session_id": pc.binary_join_element_wise("s", pa.array(session).cast(pa.string()), ""),
            "tenant_id": pa.array(TENANTS, pa.string()).take(pa.array(who % len(TENANTS))),
            "properties": pa.array(BROWSERS, pa.string()).take(pa.array(who % len(BROWSERS))),
            "source": pa.array(np.full(len(who), "bench")).cast(pa.string()),
        },
        schema=SCHEMA,
    )
    day = when // DAY_S
    bounds = np.flatnonzero(np.diff(day)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(day)], strict=True):
        date = datetime.fromordinal(START.date().toordinal() + int(day[lo])).date()
        folder = lake / "product_events" / f"date={date.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(lo, hi - lo), folder / "part-0.parquet", compression="zstd")
    return {
        "version": VERSION,
        "seed": seed,
        "events": events,
        "persons": persons,
        "journey_events": int(len(person)),
        "journeys": int(journey.max() + 1) if len(journey) else 0,
        "unrelated_events": int(n_noise),
        "days": int(day.max() + 1),
        "steps": list(STEPS),
        "generated_seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    lake, meta = ensure(args.events, args.persons, args.workdir, args.seed)
    print(lake, json.dumps(meta))


if __name__ == "__main__":
    main()
