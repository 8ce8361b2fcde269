"""Governance cannot die (the revival rule, docs/governance.md): on a real chain, block by block.

Without the rule, a chain whose gREP supply reached 0, or whose every gREP holder lost its key,
resolved every later post pool `no_quorum` and burned its mint, forever: nobody could vote, so
no proposal could pass either. With it, once no gREP pool has reached quorum for
`gov_revival_blocks` blocks, a post that misses quorum is `revived`: its whole mint goes to its
authors, who can then vote proposals through.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from governance.objects import ACTIVE, NO_QUORUM, PROPOSAL, REVIVED
from governance.views import pool_tally
from porchain.consensus.pool_codes import AGAINST, FOR, OPEN, REJECTED
from porchain.consensus.pools import Vote, is_governance_dormant
from porchain.crypto.keys import PrivateKey
from porchain.errors import InvalidParameters
from porchain.params import WSCParams
from porchain.types.transactions import TxKind
from porchain.units import UNIT
from tests.test_governance import (
    AUTHOR1,
    AUTHOR2,
    AUTHOR3,
    VOTER1,
    VOTER2,
    Forum,
    assert_supply_exact,
    gov_pools,
    resolution_height,
    stage_heights,
)

REVIVAL_BLOCKS = 20
# A post pool that its lone FOR voter can lose, at binding 100%: the AGAINST side (the
# unassigned half of the mint) wins unless FOR holds 90% of the weight.
HARSH = {"gov_win_ratio_ppm": 900_000, "gov_binding_ppm": 1_000_000}


def minted(forum: Forum) -> int:
    params = forum.state().params
    return params.post_fee * params.mint_ratio


def free_grep(forum: Forum, key: PrivateKey) -> int:
    return forum.account(key).grep // UNIT


def pass_proposal(forum: Forum, voter: PrivateKey, changes: dict[str, int]) -> None:
    """`voter` proposes `changes` and votes all its free gREP FOR at both stages; check that
    the proposal becomes the active WSC."""
    proposal = forum.post(voter, "restore governance", kind=PROPOSAL, wsc=changes)
    forum.block(proposal)
    sentiment_opens, binding_opens, active_at = stage_heights(forum.chain.head.number)
    forum.run(
        active_at,
        at={
            opens + 1: lambda: forum.stage_votes(proposal, [(voter, FOR, free_grep(forum, voter))])
            for opens in (sentiment_opens, binding_opens)
        },
    )
    assert forum.post_of(proposal).stage == ACTIVE
    assert forum.state().params == forum.genesis.params.replace(**changes)


def test_supply_slashed_to_zero_is_revived_and_a_proposal_passes_again() -> None:
    forum = Forum(grep={VOTER1: "1"}, wsc={**HARSH, "gov_revival_blocks": REVIVAL_BLOCKS})
    doomed = forum.post(AUTHOR1, "the last vote")
    forum.block(doomed)
    pool_id = forum.post_of(doomed).pool_id
    forum.block(forum.vote(VOTER1, pool_id, FOR, 1))  # the whole supply, FOR: 75% < 90%
    slashed_at = resolution_height(forum, pool_id)
    forum.run(slashed_at)
    assert forum.state().pool(pool_id).status == REJECTED
    assert forum.state().supply.grep == 0  # the last holder lost everything; nobody can vote
    assert forum.state().grep_quorum.height == slashed_at  # that pool had quorum

    # Within `gov_revival_blocks` of the last quorum, a post without quorum still burns.
    burned = forum.post(AUTHOR2, "too early")
    forum.block(burned)
    forum.run(resolution_height(forum, forum.post_of(burned).pool_id))
    assert forum.post_of(burned).status == NO_QUORUM
    assert forum.state().supply.grep == 0

    # Past it, governance is dormant: the next post without quorum re-seeds the supply.
    forum.run(slashed_at + REVIVAL_BLOCKS - 10)
    revival = forum.post(AUTHOR2, "governance, again")
    forum.block(revival)
    pool = forum.state().pool(forum.post_of(revival).pool_id)
    assert is_governance_dormant(forum.state(), pool.closes_at + 1)
    forum.run(pool.closes_at)
    assert pool_tally(forum.state(), forum.state().pool(pool.id))["projected"] == "revived"
    forum.block()
    assert forum.state().pool(pool.id).status == REVIVED and forum.state().pool(pool.id).burned == 0
    assert forum.post_of(revival).status == REVIVED
    assert forum.post_of(revival).value == minted(forum)
    assert forum.account(AUTHOR2).grep == forum.state().supply.grep == minted(forum)
    assert_supply_exact(forum)

    # The new holder is the whole electorate: it votes a proposal through both stages.
    pass_proposal(forum, AUTHOR2, {"gov_win_ratio_ppm": 500_000})
    assert forum.state().grep_quorum.height > slashed_at
    assert_supply_exact(forum)


def test_governance_whose_holders_lost_their_keys_is_revived() -> None:
    """The three genesis holders (300 gREP) never vote again. A post mints 100 gREP here, so one
    revival gives its author 25% of the supply: above the binding vote's 20% quorum."""
    forum = Forum(wsc={"post_fee": 100 * UNIT, "gov_revival_blocks": REVIVAL_BLOCKS})
    ignored = forum.post(AUTHOR1, "before dormancy")
    forum.block(ignored)
    forum.run(REVIVAL_BLOCKS - 10)
    revival = forum.post(AUTHOR3, "is anyone there?")
    forum.block(revival)
    forum.run(resolution_height(forum, forum.post_of(revival).pool_id))
    assert forum.post_of(ignored).status == NO_QUORUM  # resolved at block 12, not yet dormant
    assert forum.post_of(revival).status == REVIVED
    assert forum.account(AUTHOR3).grep == minted(forum) == 100 * UNIT

    pass_proposal(forum, AUTHOR3, {"gov_revival_blocks": 50})
    assert_supply_exact(forum)


def test_parameters_that_would_let_governance_die_are_refused() -> None:
    params = WSCParams.preset("minimal")
    for changes, message in [
        ({"post_fee": 0}, "post_fee and mint_ratio must be positive: a post mints gREP"),
        ({"mint_ratio": 0}, "post_fee and mint_ratio must be positive: a post mints gREP"),
        (
            {"gov_binding_quorum_ppm": 1_000_000},
            "gov_binding_quorum_ppm must be below 1000000 (the whole gREP supply)",
        ),
    ]:
        try:
            params.replace(**changes)
        except InvalidParameters as exc:
            assert str(exc) == message
        else:
            raise AssertionError(f"{changes} accepted")


# -- property: whatever happened before, governance comes back --------------------------------

HOLDERS = (VOTER1, VOTER2)
STEP = st.tuples(
    st.booleans(),  # AUTHOR1 posts in this block
    st.lists(  # votes: (holder, index among the pools it may vote on, FOR?, quarters of its gREP)
        st.tuples(
            st.sampled_from(HOLDERS),
            st.integers(0, 3),
            st.sampled_from((True, True, False)),
            st.sampled_from((1, 2, 4, 4)),
        ),
        max_size=2,
        unique_by=lambda v: v[0],
    ),
)


def votable_pools(forum: Forum, holder: PrivateKey) -> list[int]:
    """The open gREP pools `holder` may still vote on in the next block, newest first."""
    head = forum.chain.head.number
    return [
        p.id
        for p in sorted(gov_pools(forum.chain), key=lambda p: -p.id)
        if p.status == OPEN
        and p.closes_at > head
        and all(s.voter != holder.address for s in p.stakes)
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    holdings=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    steps=st.lists(STEP, min_size=1, max_size=30),
)
def test_grep_supply_never_stays_at_zero(
    holdings: tuple[int, int], steps: list[tuple[bool, list[tuple[PrivateKey, int, bool, int]]]]
) -> None:
    """Random posts and votes on harsh pools (a lone FOR voter loses everything) can slash the
    supply to 0 or leave it anywhere; then, from that state, a post made by someone who holds
    no gREP is revived once governance is dormant, and its author holds gREP again."""
    grep = {k: str(n) for k, n in zip(HOLDERS, holdings, strict=True) if n}
    forum = Forum(grep=grep, wsc={**HARSH, "gov_revival_blocks": 10})
    for posts, votes in steps:
        txs = [forum.post(AUTHOR1, "noise")] if posts else []
        for holder, index, side, share in votes:
            stake = forum.account(holder).grep * share // 4
            pools = votable_pools(forum, holder)
            if pools and stake:
                vote = Vote(pools[index % len(pools)], FOR if side else AGAINST, stake)
                txs.append(forum.sign(holder, TxKind.VOTE, vote.to_rlp()))
        forum.block(*txs)
    # Let every pool that may still reach quorum resolve, then wait for dormancy.
    forum.run(max((p.closes_at + 1 for p in gov_pools(forum.chain) if p.status == OPEN), default=0))
    assert_supply_exact(forum)
    event(f"gREP supply {'0' if forum.state().supply.grep == 0 else 'above 0'} before the revival")

    state = forum.state()
    dormant_from = state.grep_quorum.height + state.params.gov_revival_blocks + 1
    forum.run(max(forum.chain.head.number, dormant_from - state.params.gov_post_duration - 1))
    revival = forum.post(AUTHOR3, "revive")
    forum.block(revival)
    forum.run(resolution_height(forum, forum.post_of(revival).pool_id))
    assert forum.post_of(revival).status == REVIVED
    assert forum.account(AUTHOR3).grep == minted(forum)
    assert forum.state().supply.grep >= minted(forum) > 0
    assert_supply_exact(forum)
