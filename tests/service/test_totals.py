"""The per-arm sums give exactly what the definition gives from raw rows, however far the
aggregator that folds facts into the window totals lags.

A randomized history (events before and after assignment, imports with past assignment times,
duplicate and cross-type ids, a draft's windows changed after imports, a second assignment
wave, an erasure) is written through the service's own functions on SQLite and PostgreSQL.
The aggregator folds never (every fact beyond the watermark), after some steps only, or after
every step. The per-arm sums the results read are then compared, at many ``as_of`` times
(before, during and after the events, so late rows are recomputed), with an independent
computation in Python over every stored assignment, conversion and exposure; then again after
the aggregator has caught up.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine

from service.admin.privacy import erase_customer
from service.assignment.recording import assign_customers, import_assignments
from service.events.ingestion import ingest_events
from service.pilots.lifecycle import create_pilot, patch_pilot, start_pilot
from service.schema import (
    Conversion,
    Event,
    Exposure,
    ImportedAssignment,
    Metric,
    PilotCreate,
    PilotPatch,
)
from service.storage.aggregates import PilotAggregate, aggregate_pilot
from service.storage.aggregator import backlog, catch_up
from service.storage.engine import create_storage_engine, migrate
from service.storage.sql import read_transaction
from service.timeutil import US_PER_DAY, to_us

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)
CUSTOMERS = [f"c{i:03d}" for i in range(240)]
METRICS = [
    Metric(key=f"{event}_{kind}", event=event, kind=kind)  # type: ignore[arg-type]
    for event in ("order", "visit")
    for kind in ("binary", "count", "sum")
]
GROUPS = ["holdout", "a", "b"]


def _pilot(key: str, window: int, lookback: int) -> PilotCreate:
    return msgspec.convert(
        {
            "key": key, "name": key, "channel": "sms", "holdout_share": 0.3,
            "variants": [{"key": "a"}, {"key": "b"}],
            "metrics": [msgspec.to_builtins(m) for m in METRICS],
            "primary_metric": METRICS[0].key, "min_lift": 0.05,
            "attribution_window_days": window, "covariate_lookback_days": lookback,
        },
        PilotCreate,
    )  # fmt: skip


class History:
    """Random events with unique ids, some repeated later (duplicates)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sent: list[Event] = []
        self.serial = 0

    def batch(self, n: int) -> list[Event]:
        out: list[Event] = []
        for _ in range(n):
            self.serial += 1
            customer = self.rng.choice(CUSTOMERS)
            ts = T0 + timedelta(hours=self.rng.uniform(-12 * 24, 16 * 24))
            if self.rng.random() < 0.3:
                pilot = self.rng.choice(["alpha", "beta"])
                out.append(Exposure(id=f"x{self.serial}", customer_id=customer,
                                    experiment=pilot, ts=ts))  # fmt: skip
            else:
                out.append(Conversion(id=f"e{self.serial}", customer_id=customer, ts=ts,
                                      event=self.rng.choice(["order", "visit"]),
                                      value=round(self.rng.uniform(0, 80), 2)))  # fmt: skip
        if self.sent:  # resend some events, and reuse ids across the two event types
            out += self.rng.sample(self.sent, 15)
            donor = self.rng.choice([e for e in self.sent if isinstance(e, Exposure)])
            out.append(Conversion(id=donor.id, customer_id="c000", ts=T0, event="order"))
        self.sent += out
        return out


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_storage_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _ingest(engine: Engine, events: list[Event]) -> None:
    ingest_events(engine, events, T0 + 30 * DAY, max_future=timedelta(hours=24))


# After which steps of the history the aggregator catches up.
FOLDS = {"never": frozenset(), "midway": frozenset({1, 4}), "always": frozenset(range(9))}


def _write_history(engine: Engine, folds: frozenset[int] = FOLDS["always"]) -> None:
    history = History(seed=7)
    create_pilot(engine, _pilot("alpha", window=3, lookback=5), T0 - 20 * DAY)
    create_pilot(engine, _pilot("beta", window=10, lookback=2), T0 - 20 * DAY)
    start_pilot(engine, "alpha", T0 - DAY)
    steps = iter(range(9))

    def step() -> None:
        if next(steps) in folds:
            catch_up(engine)

    _ingest(engine, history.batch(700))  # before anyone is assigned
    step()
    assign_customers(engine, "alpha", CUSTOMERS[:150], T0)
    step()
    rng = random.Random(3)
    imported = [
        ImportedAssignment(customer_id=c, group=rng.choice(GROUPS),
                           assigned_at=T0 + timedelta(hours=rng.uniform(-72, 48)))
        for c in CUSTOMERS[60:200]
    ]  # fmt: skip
    import_assignments(engine, "beta", imported, now=T0)
    step()
    _ingest(engine, history.batch(700))
    step()
    # A draft's windows change after its imports: its totals are rebuilt.
    patch_pilot(engine, "beta", PilotPatch(attribution_window_days=4, covariate_lookback_days=6),
                T0)  # fmt: skip
    step()
    start_pilot(engine, "beta", T0)
    assign_customers(engine, "alpha", CUSTOMERS[100:230], T0 + 2 * DAY)  # 50 already assigned
    step()
    _ingest(engine, history.batch(700))
    step()
    erase_customer(engine, "c101", actor="test", now=T0 + 3 * DAY)
    step()
    erase_customer(engine, "c150", actor="test", now=T0 + 3 * DAY)
    step()


def _rows(engine: Engine, sql: str) -> list[Any]:
    with read_transaction(engine) as conn:
        return list(conn.exec_driver_sql(sql))


def _oracle(engine: Engine, key: str, window: int, lookback: int, as_of: int) -> dict[str, Any]:
    """Per-group sums straight from the definition, over every stored row."""
    pilot_id = _rows(engine, f"SELECT id FROM pilots WHERE key = '{key}'")[0][0]
    rows = _rows(engine, f"SELECT customer_id, \"group\", assigned_at FROM assignments"
                         f" WHERE pilot_id = {pilot_id}")  # fmt: skip
    assigned = {c: (g, at) for c, g, at in rows if at <= as_of}
    conversions = defaultdict(list)
    for c, event, ts, value in _rows(
        engine, "SELECT customer_id, event, ts, value FROM conversions"
    ):
        conversions[c].append((event, ts, value))
    exposures: dict[str, int] = defaultdict(int)
    total_exposures = 0
    rows = _rows(engine, f"SELECT customer_id, ts FROM exposures WHERE pilot_id = {pilot_id}")
    for c, ts in rows:
        if ts < as_of:
            exposures[c] += 1
            total_exposures += 1
    out: dict[str, Any] = {"total_exposures": total_exposures}
    for g in GROUPS:
        members = [c for c, (group, _) in assigned.items() if group == g]
        arm: dict[str, Any] = {
            "customers": len(members),
            "exposed": sum(1 for c in members if exposures[c] > 0),
            "exposures": sum(exposures[c] for c in members),
        }
        for m in METRICS:
            sums = [0.0] * 5
            for c in members:
                at = assigned[c][1]
                y_events = [
                    (ts, v)
                    for e, ts, v in conversions[c]
                    if e == m.event and at <= ts < min(at + window, as_of)
                ]
                x_events = [(ts, v) for e, ts, v in conversions[c]
                            if e == m.event and at - lookback <= ts < at]  # fmt: skip
                y, x = (_value(m.kind, evs) for evs in (y_events, x_events))
                for i, term in enumerate((y, y * y, x, x * x, x * y)):
                    sums[i] += term
            arm[m.key] = sums
        out[g] = arm
    return out


def _value(kind: str, events: list[tuple[int, float]]) -> float:
    if kind == "binary":
        return 1.0 if events else 0.0
    if kind == "count":
        return float(len(events))
    return sum(v for _, v in events)


def _as_dict(agg: PilotAggregate) -> dict[str, Any]:
    out: dict[str, Any] = {"total_exposures": agg.total_exposures}
    for g in GROUPS:
        arm = agg.arms[g]
        out[g] = {"customers": arm.customers, "exposed": arm.exposed, "exposures": arm.exposures}
        for m in METRICS:
            s = arm.metrics[m.key]
            out[g][m.key] = [s.sum, s.sum_squares, s.covariate_sum, s.covariate_sum_squares,
                             s.cross_sum]  # fmt: skip
    return out


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{name}.")
        elif isinstance(value, list):
            out |= {f"{prefix}{name}[{i}]": v for i, v in enumerate(value)}
        else:
            out[f"{prefix}{name}"] = value
    return out


def _check_every_as_of(engine: Engine) -> int:
    checked = 0
    for key, window_days, lookback_days in (("alpha", 3, 5), ("beta", 4, 6)):
        pilot_id = _rows(engine, f"SELECT id FROM pilots WHERE key = '{key}'")[0][0]
        for hours in (-30, 0, 1, 30, 55, 60, 100, 200, 400, 24 * 40):
            as_of = to_us(T0 + timedelta(hours=hours))
            with read_transaction(engine, snapshot=True) as conn:
                agg = aggregate_pilot(conn, pilot_id, GROUPS, METRICS, as_of_us=as_of)
            got = _flat(_as_dict(agg))
            want = _flat(_oracle(engine, key, window_days * US_PER_DAY, lookback_days * US_PER_DAY,
                           as_of))  # fmt: skip
            assert got.keys() == want.keys()
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (key, hours)
            checked += 1
    return checked


@pytest.mark.parametrize("folds", FOLDS)
def test_sums_match_the_definition_at_every_as_of_however_the_aggregator_lags(
    engine: Engine, folds: str
) -> None:
    _write_history(engine, FOLDS[folds])
    lag = backlog(engine).rows
    # Never folded: every fact is beyond the watermark; midway: the last steps' facts are.
    assert (lag == 0) == (folds == "always")
    assert lag > (2000 if folds == "never" else 0) or folds == "always"
    checked = _check_every_as_of(engine)
    catch_up(engine)  # the aggregator catches up: the same sums from the totals
    assert backlog(engine).rows == 0
    checked += _check_every_as_of(engine)

    # The history is rich enough to exercise every path: customers, exposures and conversions
    # in each arm, and late rows (as_of within the events) for both pilots.
    final = _oracle(engine, "beta", 4 * US_PER_DAY, 6 * US_PER_DAY, to_us(T0 + 40 * DAY))
    assert all(final[g]["customers"] > 20 and final[g]["exposed"] > 0 for g in GROUPS)
    assert all(final[g]["order_sum"][2] > 0 for g in GROUPS)  # pre-period covariate present
    assert checked == 40


def test_a_backlog_folded_in_small_passes_gives_the_same_sums(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Passes of about 97 rows (a run of rows sharing a seq is never split): many watermarks in
    between, each leaving the totals and the raw rows beyond it in agreement."""
    import service.storage.aggregator as aggregator
    import service.storage.totals as totals

    monkeypatch.setattr(aggregator, "FOLD_ROWS", {"sqlite": 97, "postgresql": 97})
    # SQLite numbers a transaction's rows in runs of 40, so its batches fold in several passes.
    monkeypatch.setattr(totals, "SEQ_ROWS", 40)
    _write_history(engine, FOLDS["never"])
    lag = backlog(engine).rows
    passes = []
    while (folded := aggregator.fold_once(engine)) > 0:
        passes.append(folded)
        if len(passes) == 5:  # midway through the backlog: exact too
            assert backlog(engine).rows > 0
            assert _check_every_as_of(engine) == 20
    # Every fact folded once: on PostgreSQL a transaction or two a pass (each wrote about 97
    # rows or more), on SQLite a run of 40 rows or a few.
    assert sum(passes) == lag and backlog(engine).rows == 0
    assert len(passes) >= (5 if engine.dialect.name == "postgresql" else lag // 150)
    assert max(passes) <= (lag if engine.dialect.name == "postgresql" else 3 * 97)
    assert _check_every_as_of(engine) == 20


@pytest.mark.parametrize("folds", ["never", "midway"])
def test_erased_customer_leaves_no_totals(engine: Engine, folds: str) -> None:
    _write_history(engine, FOLDS[folds])
    catch_up(engine)
    left = _rows(engine, "SELECT COUNT(*) FROM customer_totals"
                         " WHERE customer_id IN ('c101', 'c150')")  # fmt: skip
    assert left[0][0] == 0
    assert _rows(engine, "SELECT COUNT(*) FROM customer_totals")[0][0] > 200


def test_migration_backfills_the_totals_of_existing_data(engine: Engine) -> None:
    """A database written before 0006 gets its totals built by the migration."""
    from alembic import command
    from alembic.config import Config

    from service.storage import engine as storage_engine

    _write_history(engine)
    everything = 'SELECT * FROM customer_totals ORDER BY pilot_id, event, "group", customer_id'
    before = _rows(engine, everything)
    cfg = Config()
    cfg.set_main_option("script_location", str(storage_engine._MIGRATIONS))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
        conn.commit()
    migrate(engine)
    after = _rows(engine, everything)
    assert len(before) > 500
    rounded = [[round(v, 6) if isinstance(v, float) else v for v in row] for row in before]
    assert [[round(v, 6) if isinstance(v, float) else v for v in row] for row in after] == rounded


def test_a_batch_with_stored_ids_stores_only_the_new_ones(engine: Engine, listed_rows: int) -> None:
    """The plain insert of new ids fails on a stored one (PostgreSQL); the batch then takes the
    careful path and still stores exactly its new rows, counting the rest as duplicates."""
    for key in ("alpha", "beta"):
        create_pilot(engine, _pilot(key, window=3, lookback=5), T0 - 20 * DAY)
    history = History(seed=5)
    first = history.batch(400)
    outcome = ingest_events(engine, first, T0 + 30 * DAY, max_future=timedelta(hours=24))
    assert (outcome.accepted, outcome.duplicates) == (400, 0)
    fresh = history.batch(300)  # 300 new, 15 resent from the first, one id of another table
    outcome = ingest_events(engine, fresh, T0 + 30 * DAY, max_future=timedelta(hours=24))
    assert (outcome.accepted, outcome.duplicates) == (300, 16)
    again = ingest_events(engine, first + fresh, T0 + 30 * DAY, max_future=timedelta(hours=24))
    assert (again.accepted, again.duplicates) == (0, 716)
    stored = _rows(engine, "SELECT (SELECT COUNT(*) FROM conversions) + COUNT(*) FROM exposures")
    assert stored[0][0] == 700


@pytest.fixture(params=[0, 5_000], ids=["staged", "listed"])
def listed_rows(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every batch written through the temporary table, or every batch of the tests (up to 700
    events) as one ``INSERT`` from a ``VALUES`` list."""
    import service.storage.staging as staging

    monkeypatch.setattr(staging, "LISTED_ROWS", request.param)
    return int(request.param)


def test_batches_listed_or_staged_give_the_same_sums(engine: Engine, listed_rows: int) -> None:
    """The same sums at every ``as_of``, before and after catch-up, whichever way the rows of
    every batch went in."""
    _write_history(engine, FOLDS["midway"])
    assert _check_every_as_of(engine) == 20
    catch_up(engine)
    assert _check_every_as_of(engine) == 20


def test_a_batch_of_customers_is_recorded_once_however_it_goes_in(engine: Engine) -> None:
    """On PostgreSQL a batch whose sample of customers is all new is copied straight in; one
    stored customer the sample misses makes the copy fail and the batch take the careful path.
    Either way (and on SQLite) each customer is recorded once, with its first time."""
    import service.storage.staging as staging

    create_pilot(engine, _pilot("alpha", window=3, lookback=5), T0 - 20 * DAY)
    start_pilot(engine, "alpha", T0 - DAY)
    ids = [f"k-{i:05d}" for i in range(1_000)]
    step = len(ids) // staging.SAMPLE_ROWS
    assert step > 1  # k-00001 (index 1) is not in the sample
    assert assign_customers(engine, "alpha", ["k-00001"], T0)[2] == 1
    _, groups, new = assign_customers(engine, "alpha", ids, T0 + DAY)
    assert new == 999
    _, again, new_again = assign_customers(engine, "alpha", ids[:500], T0 + 2 * DAY)
    assert (again, new_again) == (groups[:500], 0)
    fresh = [f"n-{i:05d}" for i in range(300)]
    assert assign_customers(engine, "alpha", fresh, T0 + 2 * DAY)[2] == 300
    rows = _rows(engine, "SELECT customer_id, assigned_at FROM assignments")
    assert len(rows) == 1_300
    first = dict(rows)
    assert first["k-00001"] == to_us(T0)
    assert first["k-00002"] == to_us(T0 + DAY) and first["n-00000"] == to_us(T0 + 2 * DAY)
