"""Validation pool resolution: pre/post test vectors, and conservation over random pools.

Each vector sets up accounts (free and encumbered REP), opens a REP pool minting `minted`, adds
stakes, resolves it, and states the outcome and every account's REP afterwards, to the base unit.
Accounts: A is the author (its stake is the producer bond, from the ASC), B..E vote, Z holds the
rest of the supply so the quorum is measured against a realistic total.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porchain.consensus.ledger import REP
from porchain.consensus.pool_codes import ACCEPTED, AGAINST, FOR, NO_QUORUM, REJECTED
from porchain.consensus.pools import PoolTerms, add_stake, open_pool, resolve_pool
from porchain.db import MemoryDB
from porchain.state.lthash import LtHash
from porchain.state.state import State

NAMES = "ABCDEZ"
ADDRESS = {name: bytes([i + 1]) * 20 for i, name in enumerate(NAMES)}


@dataclass
class Vector:
    name: str
    minted: int
    stakes: list[tuple[str, int, int]]  # voter, side, amount (A's is the bond, from the ASC)
    outcome: int
    post: dict[str, tuple[int, int]]  # free REP, encumbered REP after resolution
    burned: int = 0
    quorum_ppm: int = 10_000
    win_ratio_ppm: int = 500_000
    binding_ppm: int = 500_000
    author_share_ppm: int = 500_000
    pre: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {n: (1000, 1000) for n in "ABCDE"} | {"Z": (0, 5_000)}
    )


VECTORS = [
    Vector(
        "accepted: the unassigned share and half of AGAINST go to FOR stakes pro rata",
        minted=1000,
        stakes=[("A", FOR, 100), ("B", FOR, 100), ("C", AGAINST, 100)],
        outcome=ACCEPTED,
        # pot = 500 unassigned + 50 lost by C = 550 -> A and B get 275 each; A also its 500 minted
        post={"A": (1000 + 500 + 275, 1000), "B": (1000 + 275, 1000), "C": (950, 1000)},
    ),
    Vector(
        "rejected: the producer bond is slashed, minted shares go to AGAINST",
        minted=1000,
        stakes=[("A", FOR, 100), ("C", AGAINST, 300)],
        outcome=REJECTED,
        # pot = 500 + 500 minted + 50 of the bond -> C; A's ASC keeps 950
        post={"A": (1000, 950), "C": (1000 + 1050, 1000)},
    ),
    Vector(
        "tie: FOR == AGAINST accepts",
        minted=1000,
        stakes=[("A", FOR, 100), ("C", AGAINST, 100)],
        outcome=ACCEPTED,
        post={"A": (1000 + 500 + 550, 1000), "C": (950, 1000)},
    ),
    Vector(
        "no quorum: every stake returns, the minted REP is burned",
        minted=1000,
        stakes=[("A", FOR, 10), ("C", AGAINST, 10)],
        quorum_ppm=100_000,
        outcome=NO_QUORUM,
        post={"A": (1000, 1000), "C": (1000, 1000)},
        burned=1000,
    ),
    Vector(
        "binding 0: losers keep their stakes, winners share the unassigned minted share",
        minted=1000,
        stakes=[("A", FOR, 100), ("B", FOR, 300), ("C", AGAINST, 100)],
        binding_ppm=0,
        outcome=ACCEPTED,
        post={"A": (1000 + 500 + 125, 1000), "B": (1000 + 375, 1000), "C": (1000, 1000)},
    ),
    Vector(
        "binding 50%: losers lose half",
        minted=1000,
        stakes=[("A", FOR, 100), ("B", FOR, 300), ("C", AGAINST, 200)],
        outcome=ACCEPTED,
        # pot = 500 + 100 -> 150 to A, 450 to B
        post={"A": (1000 + 500 + 150, 1000), "B": (1000 + 450, 1000), "C": (900, 1000)},
    ),
    Vector(
        "binding 100%: losers lose everything",
        minted=1000,
        stakes=[("A", FOR, 100), ("B", FOR, 300), ("C", AGAINST, 200)],
        binding_ppm=1_000_000,
        outcome=ACCEPTED,
        post={"A": (1000 + 500 + 175, 1000), "B": (1000 + 525, 1000), "C": (800, 1000)},
    ),
    Vector(
        "lone voter: only the producer's bond; it takes the whole unassigned share",
        minted=1000,
        stakes=[("A", FOR, 1000)],
        outcome=ACCEPTED,
        post={"A": (1000 + 500 + 500, 1000)},
    ),
    Vector(
        "rounding: the pro-rata remainder is burned",
        minted=100,
        stakes=[("A", FOR, 100), ("B", FOR, 100), ("C", FOR, 100)],
        outcome=ACCEPTED,
        # pot = 50 -> 16 each, 2 burned
        post={"A": (1000 + 50 + 16, 1000), "B": (1016, 1000), "C": (1016, 1000)},
        burned=2,
    ),
    Vector(
        "rejected with nobody staking AGAINST: the minted shares and lost bond burn",
        minted=1000,
        stakes=[("A", FOR, 200)],
        author_share_ppm=0,
        outcome=REJECTED,
        post={"A": (1000, 900)},
        burned=1100,
    ),
    Vector(
        "a stake from free and encumbered REP loses in proportion; winnings are free REP",
        minted=0,
        stakes=[("A", FOR, 100), ("D", AGAINST, 1500)],
        binding_ppm=1_000_000,
        pre={"A": (0, 1000), "D": (500, 1000), "Z": (0, 10_000)},
        outcome=REJECTED,
        # D staked 500 free + 1000 encumbered and wins the whole bond
        post={"A": (0, 900), "D": (500 + 100, 1000)},
    ),
    Vector(
        "a losing mixed stake returns to free and ASC in the proportions it was taken",
        minted=0,
        stakes=[("A", FOR, 900), ("D", AGAINST, 600)],
        pre={"A": (0, 1000), "D": (200, 1000), "Z": (0, 10_000)},
        outcome=ACCEPTED,
        # D's 600 = 200 free + 400 ASC loses half: 100 back to free, 200 back to the ASC
        post={"A": (300, 1000), "D": (100, 800)},
    ),
]


def make_state(pre: dict[str, tuple[int, int]]) -> State:
    state = State(MemoryDB(), LtHash())
    for name, (free, encumbered) in pre.items():
        account = state.account(ADDRESS[name])
        account.rep, account.rep_encumbered = free, encumbered
        state.supply.rep += free + encumbered
    return state


def run(vector: Vector) -> tuple[State, int]:
    state = make_state(vector.pre)
    terms = PoolTerms(
        4, vector.quorum_ppm, vector.win_ratio_ppm, vector.binding_ppm, vector.author_share_ppm
    )
    pool = open_pool(
        state,
        kind=0,
        token=REP,
        target=b"\x01",
        author=ADDRESS["A"],
        fee=0,
        minted=vector.minted,
        terms=terms,
        opened_at=1,
    )
    for name, side, amount in vector.stakes:
        if name == "A":  # the producer's bond comes from the ASC
            add_stake(state, pool, ADDRESS["A"], side, amount, bond=True)
        else:
            add_stake(state, pool, ADDRESS[name], side, amount)
    resolve_pool(state, pool, number=6)
    return state, pool.status


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_pool_vector(vector: Vector) -> None:
    state, status = run(vector)
    assert status == vector.outcome
    pool = state.pool(1)
    assert pool.burned == vector.burned
    for name, (free, encumbered) in vector.post.items():
        account = state.account(ADDRESS[name])
        assert (account.rep, account.rep_encumbered) == (free, encumbered), name
        assert account.rep_staked == account.rep_staked_encumbered == 0
    assert_conserved(state, vector)


def assert_conserved(state: State, vector: Vector) -> None:
    """minted = credited + burned, to the base unit; the supply matches the accounts."""
    owned = sum(state.account(a).rep_weight for a in ADDRESS.values())
    genesis = sum(free + enc for free, enc in vector.pre.values())
    supply = state.supply
    assert supply.rep == owned
    assert supply.rep_pooled == 0
    assert supply.rep_minted == vector.minted
    assert supply.rep_burned == state.pool(1).burned
    assert (owned - genesis) + supply.rep_burned == vector.minted


@settings(max_examples=200, deadline=None)
@given(
    minted=st.integers(0, 10**12),
    quorum=st.integers(0, 1_000_000),
    win=st.integers(0, 1_000_000),
    binding=st.integers(0, 1_000_000),
    share=st.integers(0, 1_000_000),
    stakes=st.lists(
        st.tuples(st.sampled_from("BCDE"), st.sampled_from([FOR, AGAINST]), st.integers(1, 2000)),
        max_size=8,
        unique_by=lambda s: s[0],
    ),
    bond=st.integers(0, 1000),
)
def test_random_pools_conserve_rep(minted, quorum, win, binding, share, stakes, bond) -> None:
    vector = Vector(
        "random",
        minted=minted,
        quorum_ppm=quorum,
        win_ratio_ppm=win,
        binding_ppm=binding,
        author_share_ppm=share,
        stakes=([("A", FOR, bond)] if bond else []) + stakes,
        outcome=-1,
        post={},
    )
    state, status = run(vector)
    assert status in (ACCEPTED, REJECTED, NO_QUORUM)
    assert_conserved(state, vector)
    for address in ADDRESS.values():
        account = state.account(address)
        assert min(account.rep, account.rep_encumbered) >= 0
        assert account.rep_staked == account.rep_staked_encumbered == 0
