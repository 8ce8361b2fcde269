"""Conservation of `$` and determinism over random transfer sequences, through real blocks.

Every example builds a chain, fills blocks with random transfers (some unaffordable, some to the
incinerator, some to fresh addresses, some to self) with the real builder, imports them, and after
every block checks that `$` is created only by the subsidy and destroyed only by burns, that
salaries owed are backed by the reserve, and that a second chain replaying the blocks agrees.
"""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from porchain.chain import Chain
from porchain.consensus.salary import claimable_salary
from porchain.constants import INCINERATOR, PPM
from porchain.state.state import load_lthash
from porchain.types.blocks import Block
from porchain.units import UNIT
from tests.factories import (
    KEYS,
    accounts,
    build_on_head,
    key,
    make_genesis,
    new_chain,
    transfer,
)

SENDERS = KEYS[:5]
RECIPIENTS = [k.address for k in SENDERS] + [INCINERATOR, key(300).address]


def genesis_alloc(with_grep: bool) -> dict:
    alloc = {
        KEYS[0]: {"balance": "50", "rep_encumbered": "30"},
        KEYS[1]: {"balance": "20", "rep": "0.3"},
        KEYS[2]: {"balance": "5"},
        KEYS[3]: {"balance": "0.01"},
        KEYS[4]: {},
    }
    if with_grep:
        alloc[KEYS[2]]["grep"] = "2"
    return alloc


TRANSFER = st.tuples(
    st.integers(0, len(SENDERS) - 1),
    st.integers(0, len(RECIPIENTS) - 1),
    st.one_of(st.integers(0, 10**9), st.integers(0, 60 * UNIT)),
    st.integers(0, 10**7),  # fee above the minimum
)
BLOCKS = st.lists(st.lists(TRANSFER, max_size=5), min_size=1, max_size=6)


def make_transfers(chain: Chain, plan: list[tuple[int, int, int, int]]) -> list:
    state = chain.state()
    nonces = {k.address: state.account(k.address).nonce for k in SENDERS}
    txs = []
    for sender_index, recipient_index, amount, extra_fee in plan:
        sender = SENDERS[sender_index]
        base = transfer(sender, RECIPIENTS[recipient_index], amount, nonce=nonces[sender.address])
        txs.append(
            transfer(
                sender,
                RECIPIENTS[recipient_index],
                amount,
                nonce=nonces[sender.address],
                fee=base.fee + extra_fee,
            )
        )
        nonces[sender.address] += 1
    return txs


def check_conservation(chain: Chain, settlements: int) -> None:
    state = chain.state()
    held = accounts(chain.db)
    assert all(a.balance >= 0 for a in held.values())
    assert state.supply.dollars == sum(a.balance for a in held.values()) + state.salary.reserve
    owed = sum(claimable_salary(state, a) for a in held.values())
    # The reserve backs every salary owed; it keeps at most one base unit of rounding dust per
    # settlement (each transaction settles its sender) and per account still owed.
    assert 0 <= state.salary.reserve - owed <= settlements + len(held)


@settings(max_examples=50, deadline=None)
@given(blocks=BLOCKS, with_grep=st.booleans())
def test_transfers_conserve_dollars_and_replay_identically(
    blocks: list[list[tuple[int, int, int, int]]], with_grep: bool
) -> None:
    genesis = make_genesis(genesis_alloc(with_grep))
    chain = new_chain(genesis)
    params = chain.state().params
    imported: list[Block] = []
    settlements = 0
    for plan in blocks:
        before = chain.state()
        supply_before, nonces_before = (
            before.supply,
            {k.address: before.account(k.address).nonce for k in SENDERS},
        )
        built = build_on_head(chain, make_transfers(chain, plan))
        block = built.block
        (ctx,) = chain.import_block(block).contexts
        imported.append(block)
        settlements += len(block.transactions)
        event(f"block with transfers: {bool(block.transactions)}, left out: {bool(built.rejected)}")

        after = chain.state()
        fees = sum(tx.fee for tx in block.transactions)
        assert ctx.fees == fees
        incinerated = sum(
            int.from_bytes(tx.payload[1], "big")
            for tx in block.transactions
            if tx.payload[0] == INCINERATOR
        )
        dev_budget = (fees + params.subsidy) * params.dev_budget_ppm // PPM
        burned = incinerated + (0 if with_grep else dev_budget)
        assert after.supply.dollars_burned - supply_before.dollars_burned == burned
        assert after.supply.dollars == supply_before.dollars + params.subsidy - burned
        check_conservation(chain, settlements)
        for k in SENDERS:
            sent = sum(1 for tx in block.transactions if tx.sender == k.address)
            assert after.account(k.address).nonce == nonces_before[k.address] + sent
        assert INCINERATOR not in accounts(chain.db)
        # Whatever the builder left out, it left out for a reason the rules give.
        assert all(reason for _, reason in built.rejected)
        assert len(block.transactions) + len(built.rejected) == len(plan)

    replay = new_chain(genesis)
    for block in imported:
        replay.import_block(Block.decode(block.encode()))
        assert load_lthash(replay.db).root() == block.header.state_root
    assert replay.head == chain.head
    assert list(replay.db.iterate()) == list(chain.db.iterate())
