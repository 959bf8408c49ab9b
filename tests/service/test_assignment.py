"""The assignment rule: README test vectors, balance, ramp-up stability, layers."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from service.assignment.rule import AssignmentRule, claim_buckets, layer_buckets

README = Path(__file__).resolve().parents[2] / "docs" / "assignment.md"
SALT = "sms-winback-w48"


def independent_unit(text: str, word: int = 0) -> float:
    """The documented rule, written again without the service's code."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    value = int.from_bytes(digest[8 * word : 8 * word + 8], "big")
    return (value >> 11) / 2**53


def readme_vectors() -> list[tuple[str, float, str, float, str]]:
    rows = re.findall(
        r"^\| `([^`]+)` \| ([0-9.]+) \| (\w+) \| ([0-9.]+) \| (\w+) \|$",
        README.read_text(encoding="utf-8"),
        flags=re.M,
    )
    return [(c, float(u), g, float(t), g2) for c, u, g, t, g2 in rows]


def rule(traffic: float = 1.0) -> AssignmentRule:
    return AssignmentRule(SALT, 0.1, ("sms_a", "sms_b"), (1.0, 1.0), traffic=traffic)


def test_readme_has_at_least_ten_vectors_covering_every_group() -> None:
    vectors = readme_vectors()
    assert len(vectors) >= 10
    assert {"holdout", "sms_a", "sms_b"} <= {v[2] for v in vectors}
    assert "not_in_pilot" in {v[4] for v in vectors}


@pytest.mark.parametrize("vector", readme_vectors(), ids=lambda v: v[0])
def test_readme_vector(vector: tuple[str, float, str, float, str]) -> None:
    customer, unit, group, traffic_unit, group_half = vector
    assert independent_unit(f"{SALT}:{customer}") == pytest.approx(unit, abs=1e-16)
    assert independent_unit(f"{SALT}:{customer}", word=1) == pytest.approx(traffic_unit, abs=1e-16)
    assert rule().assign([customer]) == [group]
    assert rule(0.5).assign([customer]) == [group_half]


def test_split_follows_weights() -> None:
    ids = [f"cust-{i}" for i in range(200_000)]
    r = AssignmentRule("split", 0.2, ("a", "b", "c"), (1.0, 2.0, 1.0))
    counts = np.bincount(r.group_codes(ids), minlength=5) / len(ids)
    assert counts[:4] == pytest.approx([0.2, 0.2, 0.4, 0.2], abs=0.005)
    assert counts[4] == 0  # traffic 1.0: nobody is outside


def test_traffic_increase_only_adds_customers() -> None:
    ids = [f"cust-{i}" for i in range(50_000)]
    before, after = rule(0.3).assign(ids), rule(0.6).assign(ids)
    moved = [(b, a) for b, a in zip(before, after) if b != "not_in_pilot" and b != a]
    assert moved == []
    added = sum(b == "not_in_pilot" and a != "not_in_pilot" for b, a in zip(before, after))
    assert added / len(ids) == pytest.approx(0.3, abs=0.01)


def test_layer_pilots_are_mutually_exclusive_and_ramping_moves_nobody() -> None:
    ids = [f"cust-{i}" for i in range(60_000)]
    first = claim_buckets((), (), 0.3)
    assert first is not None
    second = claim_buckets((), first, 0.5)
    assert second is not None
    a = AssignmentRule("p1", 0.1, ("v",), (1.0,), layer="sms", owned_buckets=first)
    b = AssignmentRule("p2", 0.1, ("v",), (1.0,), layer="sms", owned_buckets=second)
    in_a, in_b = a.in_pilot(ids), b.in_pilot(ids)
    assert not np.any(in_a & in_b)
    assert in_a.mean() == pytest.approx(0.3, abs=0.01)
    assert in_b.mean() == pytest.approx(0.5, abs=0.01)
    # Ramping the first pilot to 0.45 takes only free buckets: the second keeps everyone.
    ramped = claim_buckets(first, second, 0.45)
    assert ramped is not None
    a2 = AssignmentRule("p1", 0.1, ("v",), (1.0,), layer="sms", owned_buckets=ramped)
    assert not np.any(a2.in_pilot(ids) & in_b)
    assert np.all(a2.in_pilot(ids)[in_a])  # nobody left the first pilot
    assert claim_buckets(first, second, 0.6) is None  # only 20% is free


def test_layer_bucket_is_the_documented_hash() -> None:
    ids = ["c1", "customer-42"]
    expected = [int(independent_unit(f"layer:sms:{c}") * 10_000) for c in ids]
    assert layer_buckets("sms", ids).tolist() == expected


LAYER_OWNED = ((0, 1200), (5000, 5600), (9990, 10000))


@pytest.mark.parametrize(
    "r",
    [
        AssignmentRule("eq", 0.1, ("a", "b"), (1.0, 1.0)),
        AssignmentRule("eq", 0.25, ("a", "b", "c"), (1.0, 2.0, 0.5), traffic=0.37),
        AssignmentRule("eq", 0.5, ("a",), (1.0,), layer="email", owned_buckets=LAYER_OWNED),
    ],
    ids=["plain", "weights-and-traffic", "layer"],
)
def test_single_customer_path_matches_the_batch_path(r: AssignmentRule) -> None:
    """Small requests hash in plain Python; every customer must get the batch path's group."""
    ids = [f"c-{i}" for i in range(5000)]
    one_by_one = [g for c in ids for g in r.assign([c])]
    assert one_by_one == r.assign(ids)
    assert len(set(one_by_one)) == len(r.groups) - (r.traffic >= 1.0 and r.layer is None)
