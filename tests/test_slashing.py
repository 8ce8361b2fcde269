"""`slash_rep`: a share of all of an account's REP, wherever it sits, taken exactly.

The offender's REP sits free, encumbered, pending release (the unbonding queue) and staked in
open pools; each place loses the same share, the pools resolve on what is left, and the supply
stays exact: what is taken is either paid out or burned.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judicial.slashes import CENSORSHIP, MAX_RECENT, slash, slash_history
from porchain.consensus.ledger import LEDGERS, REP, slash_rep
from porchain.consensus.pool_codes import AGAINST, FOR
from porchain.consensus.pools import PoolTerms, add_stake, open_pool, resolve_pool
from porchain.db import MemoryDB
from porchain.errors import InvalidGenesis
from porchain.params import PPM, WSCParams
from porchain.state.lthash import LtHash
from porchain.state.objects import Unbonding
from porchain.state.state import State
from tests.factories import make_genesis

OFFENDER, OTHER, WHISTLEBLOWER = b"\x0a" * 20, b"\x0b" * 20, b"\x0c" * 20
TERMS = PoolTerms(4, 0, 500_000, 1_000_000, 0)


def make_state(free: int, encumbered: int, pending: list[int]) -> State:
    state = State(MemoryDB(), LtHash())
    offender, other = state.account(OFFENDER), state.account(OTHER)
    offender.rep, offender.rep_encumbered = free, encumbered
    other.rep_encumbered = 10**6
    for epoch, amount in enumerate(pending):
        offender.rep_pending += amount
        state.unbonding.entries.append(Unbonding(epoch, OFFENDER, amount))
    state.supply.rep = free + encumbered + sum(pending) + other.rep_encumbered
    return state


def open_rep_pool(state: State, stakes: list[tuple[bytes, int, int, bool]]):
    pool = open_pool(
        state, kind=0, token=REP, target=b"\x01", author=OTHER, fee=0, minted=0, terms=TERMS,
        opened_at=1,
    )  # fmt: skip
    for voter, side, amount, bond in stakes:
        add_stake(state, pool, voter, side, amount, bond=bond)
    return pool


def test_every_place_loses_the_same_share() -> None:
    state = make_state(free=1000, encumbered=2000, pending=[300, 500])
    pool = open_rep_pool(state, [(OFFENDER, FOR, 1500, False), (OTHER, AGAINST, 100, False)])
    account = state.account(OFFENDER)  # staked 1500: 1000 free, 500 from the ASC
    assert (account.rep, account.rep_encumbered, account.rep_staked) == (0, 1500, 1500)

    taken = slash_rep(state, OFFENDER, 100_000)  # 10%

    assert taken == 150 + 80 + 150  # encumbered, pending (30 + 50), staked
    assert (account.rep, account.rep_encumbered, account.rep_pending) == (0, 1350, 720)
    assert [u.amount for u in state.unbonding.entries] == [270, 450]
    stake = pool.stakes[0]
    assert (stake.amount, stake.encumbered) == (1350, 450)
    assert (account.rep_staked, account.rep_staked_encumbered) == (1350, 450)
    assert state.supply.rep_pooled == taken


def test_a_whole_slash_empties_the_account_and_the_queue() -> None:
    state = make_state(free=7, encumbered=11, pending=[13])
    open_rep_pool(state, [(OFFENDER, AGAINST, 5, True)])  # a bond: all from the ASC
    assert slash_rep(state, OFFENDER, PPM) == 7 + 11 + 13
    assert state.account(OFFENDER).rep_weight == 0
    assert state.unbonding.entries == []


@settings(max_examples=200, deadline=None)
@given(
    free=st.integers(0, 10**15),
    encumbered=st.integers(0, 10**15),
    pending=st.lists(st.integers(1, 10**15), max_size=3),
    staked=st.lists(st.tuples(st.integers(1, 10**6), st.booleans()), max_size=3),
    ppm=st.integers(0, PPM),
    reward_ppm=st.integers(0, PPM),
)
def test_slashing_conserves_rep_exactly(free, encumbered, pending, staked, ppm, reward_ppm) -> None:
    """Taken = paid + burned, the supply falls by what burns, every stake stays whole."""
    state = make_state(free, encumbered, pending)
    pools = []
    for amount, bond in staked:
        account = state.account(OFFENDER)
        room = account.rep_encumbered if bond else account.rep + account.rep_encumbered
        if min(amount, room):
            pools.append(open_rep_pool(state, [(OFFENDER, FOR, min(amount, room), bond)]))
    before = state.account(OFFENDER).rep_weight
    owned_before = state.supply.rep

    taken = slash_rep(state, OFFENDER, ppm)
    reward = taken * reward_ppm // PPM
    ledger = LEDGERS[REP]
    ledger.pay_from_pool(state, WHISTLEBLOWER, reward)
    ledger.burn_from_pool(state, taken - reward)

    account = state.account(OFFENDER)
    places = 2 + len(pending) + len(pools)  # each rounds down on its own
    assert before * ppm // PPM - places < taken <= before * ppm // PPM
    assert before - account.rep_weight == taken
    assert account.rep_pending == sum(u.amount for u in state.unbonding.entries)
    assert account.rep_staked == sum(p.stakes[0].amount for p in pools)
    assert account.rep_staked_encumbered == sum(p.stakes[0].encumbered for p in pools)
    assert all(p.stakes[0].encumbered <= p.stakes[0].amount for p in pools)
    assert state.supply.rep_pooled == 0
    assert state.supply.rep == owned_before - (taken - reward)
    assert state.supply.rep_burned == taken - reward
    owned = sum(state.account(a).rep_weight for a in (OFFENDER, OTHER, WHISTLEBLOWER))
    assert owned == state.supply.rep
    for number, pool in enumerate(pools, start=10):  # each resolves on what is left of it
        resolve_pool(state, pool, number=number)
    assert state.account(OFFENDER).rep_staked == state.account(OFFENDER).rep_staked_encumbered == 0
    assert sum(state.account(a).rep_weight for a in (OFFENDER, OTHER, WHISTLEBLOWER)) == (
        state.supply.rep
    )


def test_the_slash_history_keeps_totals_and_the_latest_in_full() -> None:
    state = make_state(free=10**12, encumbered=0, pending=[])
    taken = [
        slash(state, OFFENDER, 1000, offence=CENSORSHIP, number=n, ref=n.to_bytes(8, "big"))
        for n in range(MAX_RECENT + 5)
    ]
    history = slash_history(state, OFFENDER)
    assert (history.count, history.total) == (MAX_RECENT + 5, sum(taken))
    assert [s.number for s in history.recent] == list(range(5, MAX_RECENT + 5))
    assert history.recent[-1].amount == taken[-1] and history.recent[-1].offence == CENSORSHIP
    assert state.account(OFFENDER).rep == 10**12 - sum(taken)


@pytest.mark.parametrize("preset", ["devnet", "minimal"])
def test_a_genesis_whose_jurors_outearn_the_flag_stake_is_refused(preset: str) -> None:
    """A false accusation pays every juror out of the flag stake, so it must cover them."""
    params = WSCParams.preset(preset)
    assert params.flag_stake >= params.jury_size * params.juror_reward
    too_much = params.flag_stake // params.jury_size + 1
    with pytest.raises(InvalidGenesis, match=r"^bad WSC #0: flag_stake \(\d+\) must be at least"):
        make_genesis(preset=preset, wsc={"juror_reward": too_much})


def test_a_pool_whose_winning_stakes_were_slashed_away_resolves() -> None:
    """The only FOR stake slashed to nothing: the pool is won by a stake of 0, shares nothing
    (found by the property test above: a division by zero in resolve_pool)."""
    state = make_state(free=0, encumbered=1, pending=[])
    pool = open_rep_pool(state, [(OFFENDER, FOR, 1, False)])
    LEDGERS[REP].burn_from_pool(state, slash_rep(state, OFFENDER, PPM))
    resolve_pool(state, pool, number=10)
    assert pool.stakes[0].amount == pool.stakes[0].reward == 0
    assert state.supply.rep_pooled == 0
    assert state.account(OFFENDER).rep_weight == 0
