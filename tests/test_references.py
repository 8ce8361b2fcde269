"""The reference mechanism (PROTOCOL section 10): pre/post test vectors, and conservation over
random citation graphs.

Each vector sets up posts (authors with ppm weights, signed citations, the value each has gained)
and the accounts' gREP, then pays one or more amounts into posts with `flow_value`, exactly as an
accepted post pool does (the amount is minted into the gREP pool first). It states every post's
value and every account's gREP afterwards, to the base unit, and what was leached and burned.
Accounts A..E are authors; X is the incinerator, citable like a post.

Conservation, checked on every vector: what flowed in plus what was leached is what authors were
credited plus what burned; `supply.grep` is the sum of the accounts' gREP and nothing stays in the
pool. Royalty vectors do the same with `flow_royalty`, which mints REP and leaves values alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.objects import INCINERATOR_POST, Author, Citation, Post, post
from governance.references import flow_royalty, flow_value
from porchain.consensus.ledger import GREP, LEDGERS
from porchain.constants import INCINERATOR
from porchain.db import MemoryDB, schema
from porchain.params import WSCParams
from porchain.state.lthash import LtHash
from porchain.state.objects import WscRecord
from porchain.state.state import State

ACCOUNTS = "ABCDE"
ADDRESS = {name: bytes([i + 1]) * 20 for i, name in enumerate(ACCOUNTS)}
POST_ID = {name: name.encode() * 32 for name in "PQRSTUW"} | {"X": INCINERATOR_POST}


@dataclass
class P:
    """A post before the flow: its authors (account -> ppm), its citations (post -> signed
    ppm, negative to leach) and the value it has gained so far."""

    authors: dict[str, int]
    cites: dict[str, int] = field(default_factory=dict)
    value: int = 0


@dataclass
class Vector:
    name: str
    posts: dict[str, P]
    flows: list[tuple[str, int]]  # (post, amount paid into it), in order
    values: dict[str, int]  # every post's value afterwards
    grep: dict[str, int]  # every account's free gREP afterwards
    leached: int = 0
    burned: int = 0
    pre_grep: dict[str, int] = field(default_factory=dict)  # free gREP before (else 0)
    staked: dict[str, int] = field(default_factory=dict)  # gREP staked in open pools
    limit: int = 3  # reference_chain_limit


VECTORS = [
    Vector(
        "a chain of donations runs down to the limit: 3 hops",
        posts={
            "P": P({"A": 1_000_000}, {"Q": 500_000}),
            "Q": P({"B": 1_000_000}, {"R": 500_000}),
            "R": P({"C": 1_000_000}, {"S": 500_000}),
            "S": P({"D": 1_000_000}),
        },
        flows=[("P", 8000)],
        # P passes 4000 to Q, Q 2000 to R, R 1000 to S (3 hops); each keeps the rest
        values={"P": 4000, "Q": 2000, "R": 1000, "S": 1000},
        grep={"A": 4000, "B": 2000, "C": 1000, "D": 1000, "E": 0},
    ),
    Vector(
        "past the limit: the post at hop 3 keeps everything, its citations are not followed",
        posts={
            "P": P({"A": 1_000_000}, {"Q": 500_000}),
            "Q": P({"B": 1_000_000}, {"R": 500_000}),
            "R": P({"C": 1_000_000}, {"S": 500_000}),
            "S": P({"D": 1_000_000}, {"T": 500_000, "U": -500_000}),
            "T": P({"E": 1_000_000}),
            "U": P({"E": 1_000_000}, value=1000),
        },
        pre_grep={"E": 1000},
        flows=[("P", 8000)],
        # S would donate 500 to T and leach 500 from U at hop 4: neither happens
        values={"P": 4000, "Q": 2000, "R": 1000, "S": 1000, "T": 0, "U": 1000},
        grep={"A": 4000, "B": 2000, "C": 1000, "D": 1000, "E": 1000},
    ),
    Vector(
        "limit 0: the post keeps everything, neither donating nor leaching",
        posts={
            "P": P({"A": 1_000_000}, {"Q": 500_000, "R": -500_000}),
            "Q": P({"B": 1_000_000}),
            "R": P({"C": 1_000_000}, value=1000),
        },
        pre_grep={"C": 1000},
        limit=0,
        flows=[("P", 1000)],
        values={"P": 1000, "Q": 0, "R": 1000},
        grep={"A": 1000, "B": 0, "C": 1000, "D": 0, "E": 0},
    ),
    Vector(
        "a negative citation of a negative citation: losses do not travel",
        posts={
            "P": P({"A": 1_000_000}, {"Q": -500_000}),
            "Q": P({"B": 1_000_000}, {"R": -500_000}, value=3000),
            "R": P({"C": 1_000_000}, value=3000),
        },
        pre_grep={"B": 3000, "C": 3000},
        flows=[("P", 4000)],
        # P leaches 2000 from Q and keeps 4000 + 2000; Q's own citation of R does nothing
        values={"P": 6000, "Q": 1000, "R": 3000},
        grep={"A": 6000, "B": 1000, "C": 3000, "D": 0, "E": 0},
        leached=2000,
    ),
    Vector(
        "a donation leaches one hop down: Q leaches R with what P gives it",
        posts={
            "P": P({"A": 1_000_000}, {"Q": 600_000}),
            "Q": P({"B": 1_000_000}, {"R": -500_000}),
            "R": P({"C": 1_000_000}, value=5000),
        },
        pre_grep={"C": 5000},
        flows=[("P", 10_000)],
        # Q receives 6000 and leaches 50% of it (3000) from R: Q keeps 9000, P keeps 4000
        values={"P": 4000, "Q": 9000, "R": 2000},
        grep={"A": 4000, "B": 9000, "C": 2000, "D": 0, "E": 0},
        leached=3000,
    ),
    Vector(
        "leaching takes at most what the cited post has gained",
        posts={
            "P": P({"A": 1_000_000}, {"Q": -1_000_000}),
            "Q": P({"B": 1_000_000}, value=1500),
        },
        pre_grep={"B": 5000},  # B holds more, earned elsewhere: it is not Q's to lose
        flows=[("P", 10_000)],
        values={"P": 11_500, "Q": 0},
        grep={"A": 11_500, "B": 3500, "C": 0, "D": 0, "E": 0},
        leached=1500,
    ),
    Vector(
        "leaching takes at most what the cited post's authors still hold; staked gREP is safe",
        posts={
            "P": P({"A": 1_000_000}, {"Q": -1_000_000}),
            "Q": P({"B": 500_000, "C": 500_000}, value=4000),
        },
        pre_grep={"B": 2000, "C": 500},
        staked={"C": 1500},
        flows=[("P", 10_000)],
        # 4000 wanted, 2000 from each author: B pays 2000, C only its 500 free gREP
        values={"P": 12_500, "Q": 1500},
        grep={"A": 12_500, "B": 0, "C": 0, "D": 0, "E": 0},
        leached=2500,
    ),
    Vector(
        "donations to the incinerator burn, at any depth",
        posts={
            "P": P({"A": 1_000_000}, {"X": 200_000, "Q": 500_000}),
            "Q": P({"B": 1_000_000}, {"X": 1_000_000}),
        },
        flows=[("P", 1000)],
        # 200 burned by P, Q's 500 all passed on to the incinerator
        values={"P": 300, "Q": 0},
        grep={"A": 300, "B": 0, "C": 0, "D": 0, "E": 0},
        burned=700,
    ),
    Vector(
        "a negative citation of the incinerator takes nothing",
        posts={"P": P({"A": 1_000_000}, {"X": -500_000})},
        flows=[("P", 1000)],
        values={"P": 1000},
        grep={"A": 1000, "B": 0, "C": 0, "D": 0, "E": 0},
    ),
    Vector(
        "uneven authors: shares round down, the remainder to the largest weight, ties to the "
        "lower address",
        posts={
            "P": P({"A": 333_333, "B": 333_333, "C": 333_334}, {"Q": 500_000}),
            "Q": P({"D": 500_000, "B": 500_000}),
        },
        flows=[("P", 1003)],
        # Q gets 501: 250 each, the 1 left to B (tied with D, lower address).
        # P keeps 502: 167 each, the 1 left to C (the largest weight, though the highest address)
        values={"P": 502, "Q": 501},
        grep={"A": 167, "B": 167 + 251, "C": 168, "D": 250, "E": 0},
    ),
    Vector(
        "leaching a multi-author post takes by weight, the remainder from its top author",
        posts={
            "P": P({"A": 1_000_000}, {"Q": -333_333}),
            "Q": P({"B": 700_000, "C": 300_000}, value=1000),
        },
        pre_grep={"B": 1000, "C": 1000},
        flows=[("P", 1000)],
        # 333 leached: 233 + 99 by weight, the 1 left from B
        values={"P": 1333, "Q": 667},
        grep={"A": 1333, "B": 766, "C": 901, "D": 0, "E": 0},
        leached=333,
    ),
    Vector(
        "overlapping authors: one account writes the citing post and both cited ones",
        posts={
            "P": P({"A": 600_000, "B": 400_000}, {"Q": -400_000, "R": 500_000}),
            "Q": P({"A": 500_000, "C": 500_000}, value=1000),
            "R": P({"A": 1_000_000}),
        },
        pre_grep={"A": 1000, "C": 500},
        flows=[("P", 1000)],
        # Q loses 400 (200 from A, 200 from C); R gets 500 (A); P keeps 1000 + 400 - 500 = 900,
        # split 540 to A and 360 to B. A: 1000 - 200 + 500 + 540
        values={"P": 900, "Q": 600, "R": 500},
        grep={"A": 1840, "B": 360, "C": 300, "D": 0, "E": 0},
        leached=400,
    ),
    Vector(
        "a zero-valued post: nothing to leach until a donation gives it value",
        posts={
            "S": P({"D": 1_000_000}, {"Q": -500_000}),
            "P": P({"A": 1_000_000}, {"Q": 500_000}),
            "R": P({"C": 1_000_000}, {"Q": -300_000}),
            "Q": P({"B": 1_000_000}),
        },
        pre_grep={"B": 5000},  # earned elsewhere: Q has gained nothing yet
        flows=[("S", 1000), ("P", 2000), ("R", 1000)],
        # S leaches nothing from Q (value 0); P gives Q 1000; R then leaches 300 of it
        values={"S": 1000, "P": 1000, "Q": 700, "R": 1300},
        grep={"A": 1000, "B": 5700, "C": 1300, "D": 1000, "E": 0},
        leached=300,
    ),
]


def make_state(
    posts: dict[str, P], pre_grep: dict[str, int], staked: dict[str, int], limit: int
) -> State:
    state = State(MemoryDB(), LtHash())
    params = WSCParams.preset("minimal").replace(reference_chain_limit=limit)
    state.set(schema.wsc_state_key(0), WscRecord(params_json=params.encode()))
    for name, spec in posts.items():
        state.set(
            schema.post_state_key(POST_ID[name]),
            Post(
                id=POST_ID[name],
                authors=[Author(ADDRESS[a], w) for a, w in sorted(spec.authors.items())],
                citations=[
                    Citation(POST_ID[target], abs(w), int(w < 0))
                    for target, w in spec.cites.items()
                ],
                title=name.encode(),
                value=spec.value,
            ),
        )
    for name in ACCOUNTS:
        account = state.account(ADDRESS[name])
        account.grep = pre_grep.get(name, 0)
        account.grep_staked = staked.get(name, 0)
        state.supply.grep += account.grep_weight
    return state


def owned_grep(state: State) -> int:
    return sum(state.account(ADDRESS[name]).grep_weight for name in ACCOUNTS)


def run(vector: Vector) -> tuple[State, int, int, int]:
    """Apply the vector's flows; return the state, and the flows' kept, leached and burned."""
    state = make_state(vector.posts, vector.pre_grep, vector.staked, vector.limit)
    kept = leached = burned = 0
    for name, amount in vector.flows:
        LEDGERS[GREP].mint_to_pool(state, amount)  # as the post's pool holds its minted share
        flow = flow_value(state, POST_ID[name], amount)
        kept += flow.total("kept")
        leached += flow.total("leached")
        burned += flow.total("burned")
    return state, kept, leached, burned


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_reference_vector(vector: Vector) -> None:
    state, kept, leached, burned = run(vector)
    assert set(vector.values) == set(vector.posts)  # a vector states every post's value
    for name, value in vector.values.items():
        assert post(state, POST_ID[name]).value == value, f"value of {name}"
    for name, grep in vector.grep.items():
        account = state.account(ADDRESS[name])
        assert account.grep == grep, f"gREP of {name}"
        assert account.grep_staked == vector.staked.get(name, 0), f"staked gREP of {name}"
    assert (leached, burned) == (vector.leached, vector.burned)

    # Conservation, to the base unit.
    flowed_in = sum(amount for _, amount in vector.flows)
    credited = sum(vector.grep.values()) - sum(vector.pre_grep.values()) + leached
    assert flowed_in + leached == credited + burned
    assert kept == credited  # what the flow says it kept is what authors received
    supply = state.supply
    assert supply.grep == owned_grep(state)
    assert supply.grep_pooled == 0
    assert supply.grep_minted == flowed_in
    assert supply.grep_burned == burned
    pre_values = sum(spec.value for spec in vector.posts.values())
    assert sum(vector.values.values()) - pre_values == credited - leached  # values follow gREP
    assert supply.rep == supply.rep_minted == 0  # value flows are gREP only


# -- royalty ---------------------------------------------------------------------------------------


@dataclass
class RoyaltyVector:
    name: str
    posts: dict[str, P]
    amount: int  # REP minted for the WSC's post, W
    rep: dict[str, int]  # every account's REP afterwards
    burned: int = 0
    pre_grep: dict[str, int] = field(default_factory=dict)


ROYALTY_VECTORS = [
    RoyaltyVector(
        "royalty: REP minted down positive citations only; values and gREP unchanged",
        posts={
            "W": P({"A": 700_000, "E": 300_000}, {"Q": 400_000, "R": -300_000, "X": 100_000}),
            "Q": P({"B": 1_000_000}, {"S": 500_000}, value=700),
            "R": P({"C": 1_000_000}, value=500),
            "S": P({"D": 1_000_000}),
        },
        pre_grep={"B": 700, "C": 500},
        amount=10_001,
        # W: 4000 to Q, 1000 to the incinerator, R's negative citation ignored; it keeps 5001,
        # 3500 + 1500 by weight and the 1 left to A. Q passes 2000 to S and keeps 2000.
        rep={"A": 3501, "B": 2000, "C": 0, "D": 2000, "E": 1500},
        burned=1000,
    ),
    RoyaltyVector(
        "royalty past the limit: the post at hop 3 keeps everything",
        posts={
            "W": P({"A": 1_000_000}, {"Q": 500_000}),
            "Q": P({"B": 1_000_000}, {"R": 500_000}),
            "R": P({"C": 1_000_000}, {"S": 500_000}),
            "S": P({"D": 1_000_000}, {"T": 500_000}),
            "T": P({"E": 1_000_000}),
        },
        amount=1000,
        rep={"A": 500, "B": 250, "C": 125, "D": 125, "E": 0},
    ),
]


@pytest.mark.parametrize("vector", ROYALTY_VECTORS, ids=[v.name for v in ROYALTY_VECTORS])
def test_royalty_vector(vector: RoyaltyVector) -> None:
    state = make_state(vector.posts, vector.pre_grep, {}, 3)
    flow = flow_royalty(state, POST_ID["W"], vector.amount)
    for name, rep in vector.rep.items():
        assert state.account(ADDRESS[name]).rep == rep, f"REP of {name}"
        assert state.account(ADDRESS[name]).grep == vector.pre_grep.get(name, 0)
    for name, spec in vector.posts.items():
        assert post(state, POST_ID[name]).value == spec.value, f"value of {name}"
    assert flow.total("burned") == vector.burned
    assert flow.total("leached") == 0
    supply = state.supply
    assert supply.rep_minted == vector.amount
    assert supply.rep == sum(vector.rep.values()) == vector.amount - vector.burned
    assert supply.rep_burned == vector.burned
    assert supply.rep_pooled == 0
    assert state.account(INCINERATOR).is_empty()
    assert supply.grep == sum(vector.pre_grep.values()) and supply.grep_minted == 0


# -- conservation over random citation graphs ----------------------------------------------------


@st.composite
def citation_graphs(draw: st.DrawFn) -> tuple[dict[str, P], dict[str, int], list, int]:
    names = "PQRSTUW"[: draw(st.integers(1, 7))]
    posts: dict[str, P] = {}
    for index, name in enumerate(names):
        authors = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=3, unique=True))
        cuts = sorted(draw(st.lists(st.integers(1, 999_999), min_size=len(authors) - 1)))
        bounds = [0, *cuts[: len(authors) - 1], 1_000_000]
        weights = [bounds[i + 1] - bounds[i] for i in range(len(authors))]
        authors = [a for a, w in zip(authors, weights, strict=True) if w]
        weights = [w for w in weights if w]
        older = [*names[:index], "X"]
        targets = draw(st.lists(st.sampled_from(older), max_size=3, unique=True))
        budget, cites = 1_000_000, {}
        for target in targets:
            weight = draw(st.integers(1, max(1, budget)))
            if weight > budget:
                break
            budget -= weight
            cites[target] = weight * draw(st.sampled_from([1, -1]))
        posts[name] = P(
            dict(zip(authors, weights, strict=True)), cites, draw(st.integers(0, 10**6))
        )
    pre_grep = {a: draw(st.integers(0, 10**6)) for a in ACCOUNTS}
    flows = draw(st.lists(st.tuples(st.sampled_from(names), st.integers(0, 10**9)), max_size=4))
    return posts, pre_grep, flows, draw(st.integers(0, 4))


@settings(max_examples=150, deadline=None)
@given(citation_graphs())
def test_random_flows_conserve_grep(graph) -> None:
    posts, pre_grep, flows, limit = graph
    vector = Vector("random", posts, flows, {}, {}, pre_grep=pre_grep, limit=limit)
    state, kept, leached, burned = run(vector)
    flowed_in = sum(amount for _, amount in flows)
    owned = owned_grep(state)
    assert flowed_in + leached == kept + burned
    assert owned - sum(pre_grep.values()) == flowed_in - burned
    supply = state.supply
    assert supply.grep == owned and supply.grep_pooled == 0
    assert supply.grep_burned == burned and supply.grep_minted == flowed_in
    values = {name: post(state, POST_ID[name]).value for name in posts}
    assert min(values.values(), default=0) >= 0
    assert min(state.account(ADDRESS[a]).grep for a in ACCOUNTS) >= 0
    assert sum(values.values()) - sum(p.value for p in posts.values()) == kept - leached
