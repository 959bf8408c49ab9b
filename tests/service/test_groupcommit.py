"""Group commit: concurrent callers share one write, each gets its own result, none is lost,
and a failed write fails exactly the callers whose items it held."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from service.storage.groupcommit import GroupCommit


def _wait_for(condition: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def test_callers_queued_behind_a_write_share_the_next_one() -> None:
    batches: list[list[int]] = []
    release, writing = threading.Event(), threading.Event()

    def write(items: Sequence[int]) -> list[int]:
        if not batches:
            writing.set()
            release.wait(10)  # the first write is slow: the others queue up meanwhile
        batches.append(list(items))
        return [i * i for i in items]

    commit: GroupCommit[int, int] = GroupCommit(write)
    results: dict[int, int] = {}

    def call(i: int) -> None:
        results[i] = commit.submit(i)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert writing.wait(10)
    others = [threading.Thread(target=call, args=(i,)) for i in range(1, 21)]
    for t in others:
        t.start()
    _wait_for(lambda: commit.pending() == 20)
    release.set()
    for t in [first, *others]:
        t.join(10)
    assert results == {i: i * i for i in range(21)}
    assert batches[0] == [0]
    assert sorted(batches[1]) == list(range(1, 21))  # one write for all twenty
    assert len(batches) == 2


def test_a_lone_caller_writes_at_once_and_batches_respect_the_cap() -> None:
    sizes: list[int] = []

    def write(items: Sequence[str]) -> list[str]:
        sizes.append(len(items))
        time.sleep(0.002)
        return [s.upper() for s in items]

    commit: GroupCommit[str, str] = GroupCommit(write, max_batch=4)
    assert commit.submit("a") == "A" and sizes == [1]
    out: list[str] = []
    lock = threading.Lock()

    def call(s: str) -> None:
        r = commit.submit(s)
        with lock:
            out.append(r)

    threads = [threading.Thread(target=call, args=(f"x{i}",)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(out) == sorted(f"X{i}" for i in range(200))
    assert sum(sizes) == 201 and max(sizes) <= 4
    assert commit.pending() == 0


def test_a_failed_write_fails_its_callers_and_not_the_next_batch() -> None:
    release = threading.Event()
    calls = 0

    def write(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            release.wait(10)
            return list(items)
        if calls == 2:
            raise RuntimeError("disk full")
        return list(items)

    commit: GroupCommit[int, int] = GroupCommit(write)
    outcome: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            outcome[i] = commit.submit(i)
        except RuntimeError as error:
            outcome[i] = str(error)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    _wait_for(lambda: calls == 1)
    failing = [threading.Thread(target=call, args=(i,)) for i in (1, 2, 3)]
    for t in failing:
        t.start()
    _wait_for(lambda: commit.pending() == 3)
    release.set()
    for t in [first, *failing]:
        t.join(10)
    assert outcome == {0: 0, 1: "disk full", 2: "disk full", 3: "disk full"}
    assert commit.submit(7) == 7  # the next write runs normally


def test_results_must_match_items() -> None:
    commit: GroupCommit[int, int] = GroupCommit(lambda items: [])
    with pytest.raises(ValueError):
        commit.submit(1)
