"""Producer selection: draw frequencies match weights, and the `cycle` policy's guarantee."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from porchain.consensus.selection import compute_schedule, draw
from porchain.crypto.hashing import keccak
from porchain.state.objects import Weight

MIX = keccak(b"selection test mix")
SNAPSHOT = [Weight(bytes([i]) * 20, w) for i, w in enumerate([1000, 2000, 3000, 500, 3500], 1)]


def chi_square_sf_even(statistic: float, degrees: int) -> float:
    """P(X > statistic) for a chi-square variable with an even number of degrees of freedom."""
    half = statistic / 2
    return math.exp(-half) * sum(half**i / math.factorial(i) for i in range(degrees // 2))


def test_draw_frequencies_match_weights() -> None:
    draws = 20_000
    counts = Counter(draw(MIX, slot, SNAPSHOT) for slot in range(draws))
    total = sum(w.weight for w in SNAPSHOT)
    statistic = sum(
        (counts[w.address] - draws * w.weight / total) ** 2 / (draws * w.weight / total)
        for w in SNAPSHOT
    )
    p_value = chi_square_sf_even(statistic, len(SNAPSHOT) - 1)
    assert p_value > 0.001, (statistic, counts)


def test_chi_square_helper_against_known_values() -> None:
    assert math.isclose(chi_square_sf_even(9.487729, 4), 0.05, rel_tol=1e-4)
    assert math.isclose(chi_square_sf_even(18.4668, 4), 0.001, rel_tol=1e-3)


def test_weighted_draws_are_deterministic_and_weight_zero_is_never_drawn() -> None:
    snapshot = [*SNAPSHOT, Weight(b"\x09" * 20, 0)]
    producers, _ = compute_schedule(MIX, snapshot, 0, 500, "weighted")
    assert producers == compute_schedule(MIX, snapshot, 0, 500, "weighted")[0]
    assert b"\x09" * 20 not in producers


@given(
    weights=st.lists(st.integers(1, 10**6), min_size=1, max_size=9),
    rounds=st.integers(1, 6),
)
def test_cycle_draws_everyone_once_before_anyone_twice(weights: list[int], rounds: int) -> None:
    snapshot = [Weight(bytes([i]) * 20, w) for i, w in enumerate(weights, 1)]
    producers, drawn = compute_schedule(MIX, snapshot, 0, len(snapshot) * rounds, "cycle")
    members = {w.address for w in snapshot}
    for start in range(0, len(producers), len(snapshot)):
        assert set(producers[start : start + len(snapshot)]) == members
    assert set(drawn) == members


def test_cycle_carries_over_between_epochs() -> None:
    first, drawn = compute_schedule(MIX, SNAPSHOT, 0, 3, "cycle")
    second, _ = compute_schedule(MIX, SNAPSHOT, 3, 2, "cycle", drawn)
    assert sorted(first + second) == sorted(w.address for w in SNAPSHOT)


def test_empty_snapshot_schedules_nobody() -> None:
    assert compute_schedule(MIX, [], 0, 8, "weighted") == ([], [])
