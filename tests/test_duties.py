"""A node's automatic duties: votes on block pools (AGAINST a block that censored), and the
beacon's commit and reveal, through a real Node on virtual time."""

from __future__ import annotations

import pytest
import trio

from porchain.builder import build_block
from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.consensus.pool_codes import AGAINST, FOR
from porchain.consensus.pools import Vote
from porchain.consensus.slots import scheduled_producer
from porchain.duties import encumber_due, sign_duty
from porchain.node import Node, NodeConfig
from porchain.types.transactions import Transaction, TxKind
from tests.factories import GENESIS_TIME_MS, KEYS, make_genesis, new_chain, transfer

ME, RIVAL, USER = KEYS[0], KEYS[1], KEYS[2]
SLOT_MS = 100  # the minimal preset; censor_grace_ms is 50


@pytest.fixture
def chain() -> Chain:
    alloc = {k: {"balance": "1000", "rep_encumbered": "100"} for k in (ME, RIVAL)}
    alloc[USER] = {"balance": "1000"}
    return new_chain(make_genesis(alloc))


def node_at_slot(chain: Chain, slot: int) -> Node:
    """A node whose clock reads the start of `slot` at trio time 0."""
    clock = SlotClock(GENESIS_TIME_MS, SLOT_MS, offset_ms=GENESIS_TIME_MS + slot * SLOT_MS)
    return Node(chain, clock, key=ME, config=NodeConfig(rpc_port=None, produce=False))


def rival_slot(chain: Chain, after: int, producer: bytes = RIVAL.address) -> int:
    return next(
        s
        for s in range(after + 1, after + 200)
        if scheduled_producer(chain.state(), s, chain.rules) == producer
    )


async def rival_block_at(node: Node, slot: int, txs: list[Transaction]):
    await node.clock.sleep_until_ms(node.clock.slot_start_ms(slot))
    chain = node.chain
    return build_block(chain.state(), chain.head, slot, RIVAL, txs, chain.rules).block


def my_votes(node: Node) -> list[int]:
    handler = node.chain.rules.handler(TxKind.VOTE)
    return [
        handler.decode(tx.payload).side
        for tx in node.mempool.pending_from(ME.address)
        if tx.kind == TxKind.VOTE
    ]


async def test_vote_against_a_block_that_left_out_a_transaction_seen_in_time(
    chain: Chain, autojump_clock: trio.testing.MockClock
) -> None:
    node = node_at_slot(chain, 3)
    censored = transfer(USER, RIVAL.address, 1, nonce=0)
    node.submit_transaction(censored.encoded)
    slot = rival_slot(chain, 4)
    node.import_block(await rival_block_at(node, slot, []))
    assert my_votes(node) == [AGAINST]


async def test_vote_for_a_block_that_included_it(
    chain: Chain, autojump_clock: trio.testing.MockClock
) -> None:
    node = node_at_slot(chain, 3)
    tx = transfer(USER, RIVAL.address, 1, nonce=0)
    node.submit_transaction(tx.encoded)
    node.import_block(await rival_block_at(node, rival_slot(chain, 4), [tx]))
    assert my_votes(node) == [FOR]


async def test_a_transaction_seen_within_the_grace_period_does_not_count(
    chain: Chain, autojump_clock: trio.testing.MockClock
) -> None:
    slot = rival_slot(chain, 4)
    node = node_at_slot(chain, slot)  # seen right at the block's slot start: too late to count
    node.submit_transaction(transfer(USER, RIVAL.address, 1, nonce=0).encoded)
    node.import_block(await rival_block_at(node, slot, []))
    assert my_votes(node) == [FOR]


async def test_a_transaction_invalid_after_the_block_does_not_count(
    chain: Chain, autojump_clock: trio.testing.MockClock
) -> None:
    node = node_at_slot(chain, 3)
    first = transfer(USER, RIVAL.address, 1, nonce=0)
    node.submit_transaction(first.encoded)
    # the block includes a replacement of `first` (same nonce, higher fee) from elsewhere
    replacement = transfer(USER, ME.address, 1, nonce=0, fee=10**8)
    node.import_block(await rival_block_at(node, rival_slot(chain, 4), [replacement]))
    assert my_votes(node) == [FOR]


async def test_a_late_own_block_gets_our_vote_a_late_peer_block_does_not(
    chain: Chain, autojump_clock: trio.testing.MockClock
) -> None:
    """A busy machine may finish its block slots late; the pool still takes a vote in the next
    block. A peer's block that old means we are catching up: no vote."""
    late = 2 * chain.state().params.block_pool_duration
    mine = rival_slot(chain, 4, producer=ME.address)
    node = node_at_slot(chain, mine + late)
    assert node.produce_block(mine) is not None
    assert my_votes(node) == [FOR]

    theirs = rival_slot(chain, mine)
    block = build_block(chain.state(), chain.head, theirs, RIVAL, [], chain.rules).block
    await trio.sleep((theirs + late - mine) * SLOT_MS / 1000)
    node.import_block(block, source=RIVAL.address)
    assert chain.head == block.header
    assert my_votes(node) == [FOR]  # still only the vote on our own block


async def test_beacon_duty_commits_then_reveals_with_a_stored_salt(
    chain: Chain, autojump_clock: trio.testing.MockClock
) -> None:
    node = node_at_slot(chain, 4)  # epoch 1 begins: the commit window (slots 4, 5)
    node.perform_beacon_duty(4)
    node.perform_beacon_duty(4)  # one commit at a time
    assert [tx.kind for tx in node.mempool.pending_from(ME.address)] == [TxKind.COMMIT]
    salt = node.beacon_duty.salt(1)
    assert node.beacon_duty.salt(1) == salt  # stored, not drawn again
    producer = {k.address: k for k in (ME, RIVAL)}[
        scheduled_producer(chain.state(), 5, chain.rules)
    ]
    await trio.sleep(0.1)
    built = build_block(
        chain.state(), chain.head, 5, producer, node.mempool.candidates(), chain.rules
    )
    node.import_block(built.block)
    assert chain.state().epoch_record(1).commits[0].address == ME.address
    await trio.sleep(0.1)
    node.perform_beacon_duty(6)  # the reveal window
    reveals = [tx for tx in node.mempool.pending_from(ME.address) if tx.kind == TxKind.REVEAL]
    assert len(reveals) == 1
    assert chain.rules.handler(TxKind.REVEAL).decode(reveals[0].payload).value == salt


async def test_earned_rep_is_encumbered_at_the_start_of_an_epoch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    alloc = {ME: {"balance": "1000", "rep_encumbered": "100", "rep": "5"}}
    chain = new_chain(make_genesis(alloc))
    node = node_at_slot(chain, 4)
    node.encumber_earnings(5)  # not an epoch's first slot: nothing
    assert node.mempool.pending_from(ME.address) == []
    node.encumber_earnings(4)
    node.encumber_earnings(4)  # one at a time
    (tx,) = node.mempool.pending_from(ME.address)
    assert tx.kind == TxKind.ENCUMBER
    assert chain.rules.handler(TxKind.ENCUMBER).decode(tx.payload).amount == 5 * 10**9


def test_encumbering_leaves_free_what_pending_votes_will_stake() -> None:
    """A vote takes its stake from free REP first: encumbering all of it would make the
    ENCUMBER fail once the vote is applied before it."""
    chain = new_chain(make_genesis({ME: {"balance": "1000", "rep_encumbered": "100", "rep": "5"}}))
    state = chain.state()
    vote = sign_duty(ME, state, 0, TxKind.VOTE, Vote(1, FOR, 2 * 10**9).to_rlp())
    assert encumber_due(state, ME.address, 4, [], chain.rules) == 5 * 10**9
    assert encumber_due(state, ME.address, 4, [vote], chain.rules) == 3 * 10**9
