"""Group commit: requests queued behind a write share the next one, each gets its own result
or its own error, none is lost, and a failed write fails exactly the requests it held."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from service.assignment.groupcommit import GroupCommit


async def _until(condition: object, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.001)


def test_requests_queued_behind_a_write_share_the_next_one() -> None:
    batches: list[list[int]] = []
    release, writing = threading.Event(), threading.Event()

    def write(items: Sequence[int]) -> list[int]:
        if not batches:
            writing.set()
            assert release.wait(10)  # the first write is slow: the others queue up meanwhile
        batches.append(list(items))
        return [i * i for i in items]

    async def scenario() -> list[int]:
        commit: GroupCommit[int, int] = GroupCommit(write)
        first = asyncio.create_task(commit.submit(0))
        await _until(writing.is_set)
        others = [asyncio.create_task(commit.submit(i)) for i in range(1, 21)]
        await _until(lambda: commit.pending() == 20)
        release.set()
        return list(await asyncio.gather(first, *others))

    assert asyncio.run(scenario()) == [i * i for i in range(21)]
    assert batches == [[0], list(range(1, 21))]  # one write for all twenty, in arrival order


def test_a_lone_request_is_written_at_once_and_batches_respect_the_cap() -> None:
    sizes: list[int] = []

    def write(items: Sequence[str]) -> list[str]:
        sizes.append(len(items))
        return [s.upper() for s in items]

    async def scenario() -> tuple[str, list[str], int]:
        commit: GroupCommit[str, str] = GroupCommit(write, max_batch=4)
        alone = await commit.submit("a")
        many = await asyncio.gather(*(commit.submit(f"x{i}") for i in range(50)))
        return alone, list(many), commit.pending()

    alone, many, pending = asyncio.run(scenario())
    assert alone == "A" and sizes[0] == 1
    assert many == [f"X{i}" for i in range(50)]
    assert sum(sizes) == 51 and max(sizes) == 4 and pending == 0


def test_errors_reach_their_own_requests() -> None:
    calls = 0

    def write(items: Sequence[int]) -> list[int | Exception]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk full")  # the whole batch fails
        return [ValueError(f"bad {i}") if i < 0 else i for i in items]

    async def outcome(commit: GroupCommit[int, int], i: int) -> object:
        try:
            return await commit.submit(i)
        except (RuntimeError, ValueError) as error:
            return str(error)

    async def scenario() -> list[object]:
        commit: GroupCommit[int, int] = GroupCommit(write)
        first = await asyncio.gather(*(outcome(commit, i) for i in (1, -2, 3)))
        second = await asyncio.gather(*(outcome(commit, i) for i in (4, 5)))
        third = await outcome(commit, 6)  # the next write runs normally
        return [*first, *second, third]

    assert asyncio.run(scenario()) == [1, "bad -2", 3, "disk full", "disk full", 6]


def test_a_write_must_answer_every_request() -> None:
    async def scenario() -> None:
        commit: GroupCommit[int, int] = GroupCommit(lambda items: [])
        await commit.submit(1)

    with pytest.raises(ValueError, match="0 results for 1 items"):
        asyncio.run(scenario())
