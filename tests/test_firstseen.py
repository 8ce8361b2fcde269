"""The first-seen log is bounded (issue 10): a record outlives its transaction's last pending
moment by `first_seen_retention_ms` and no more, so a flood of replaced or evicted transactions
cannot grow the disk; what the log answers for pending and recent transactions is unchanged."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.db import schema
from porchain.db.abc import Database
from porchain.db.level import LevelDB
from porchain.db.memory import MemoryDB
from porchain.firstseen import (
    MAX_BUFFERED,
    MAX_EXAMINED_PER_FLUSH,
    FirstSeenLog,
    first_seen_retention_ms,
)
from porchain.node import Node, NodeConfig
from porchain.types.transactions import Transaction
from tests.factories import (
    GENESIS_TIME_MS,
    KEYS,
    build_on_head,
    core_rules,
    default_alloc,
    make_genesis,
    new_chain,
    transfer,
)

SENDER, OTHER = KEYS[0], KEYS[1]


def node_on(chain: Chain) -> Node:
    """A node without services whose clock reads the slot after genesis at trio time 0 (the
    same offset after a restart, so its time goes on)."""
    slot_ms = chain.state().params.slot_ms
    clock = SlotClock(GENESIS_TIME_MS, slot_ms, offset_ms=GENESIS_TIME_MS + slot_ms)
    node = Node(chain, clock, config=NodeConfig(rpc_port=None, produce=False))
    node.restore_local_transactions()
    return node


async def next_block(node: Node) -> None:
    """Wait for the next block's slot and import it (empty): the log is flushed."""
    block = build_on_head(node.chain).block
    await node.clock.sleep_until_ms(node.clock.slot_start_ms(block.slot))
    node.import_block(block)


async def past_the_horizon(node: Node) -> None:
    """Import blocks until more than the retention horizon has passed."""
    until = node.clock.now_ms() + first_seen_retention_ms(node.chain.state().params)
    while node.clock.now_ms() <= until:
        await next_block(node)


def records(db: Database) -> int:
    return sum(1 for _ in db.iterate(schema.first_seen_key(b"")))


def replacement(tx: Transaction) -> Transaction:
    """SENDER's transaction with `tx`'s nonce, paying just enough more to replace it."""
    return transfer(SENDER, OTHER.address, 1, nonce=tx.nonce, fee=tx.fee * 11 // 10 + 1)


async def test_records_of_transactions_gone_from_the_mempool_are_pruned_after_the_horizon(
    autojump_clock: trio.testing.MockClock,
) -> None:
    node = node_on(new_chain(make_genesis(default_alloc())))
    replaced = transfer(SENDER, OTHER.address, 1, nonce=0)
    node.receive_transaction(replaced)
    pending = transfer(OTHER, SENDER.address, 1, nonce=0)
    node.receive_transaction(pending)
    await next_block(node)
    first = {tx.hash: node.first_seen.get(tx.hash) for tx in (replaced, pending)}
    replacing = replacement(replaced)
    node.receive_transaction(replacing)  # `replaced` leaves the mempool
    await next_block(node)
    assert node.first_seen.get(replaced.hash) == first[replaced.hash]  # recent: kept

    await past_the_horizon(node)
    assert node.first_seen.get(replaced.hash) is None
    assert node.first_seen.get(pending.hash) == first[pending.hash]  # pending: never pruned
    assert node.first_seen.get(replacing.hash) is not None
    assert records(node.chain.db) == 2


async def test_a_flood_of_replacements_leaves_records_for_the_mempool_and_the_horizon(
    autojump_clock: trio.testing.MockClock,
) -> None:
    node = node_on(new_chain(make_genesis(default_alloc())))
    params = node.chain.state().params
    tx = transfer(SENDER, OTHER.address, 1, nonce=0)
    node.receive_transaction(tx)
    flood = 60
    for _ in range(flood):
        tx = replacement(tx)
        node.receive_transaction(tx)
        await next_block(node)
    per_horizon = first_seen_retention_ms(params) // params.slot_ms + 2  # one record a slot
    assert records(node.chain.db) <= 1 + per_horizon < flood
    assert node.first_seen.get(tx.hash) is not None
    index = list(node.chain.db.iterate(schema.FIRST_SEEN_INDEX_PREFIX))
    assert len(index) == records(node.chain.db)  # one index entry per record, no stale ones


def test_pruning_reads_a_bounded_number_of_entries_per_flush() -> None:
    db = MemoryDB()
    log = FirstSeenLog(db, set(), lambda: 1_000)
    many = 3 * MAX_EXAMINED_PER_FLUSH
    for i in range(many):
        log.record(i.to_bytes(32, "big"), 0)
        assert len(log._buffered) <= MAX_BUFFERED  # a flood within a slot is flushed early
    log.flush(10)
    assert records(db) == many
    for left in (2 * MAX_EXAMINED_PER_FLUSH, MAX_EXAMINED_PER_FLUSH, 0):
        log.flush(2_000)
        assert records(db) == left
    assert list(db.iterate(schema.FIRST_SEEN_INDEX_PREFIX)) == []


def test_a_long_pending_transaction_does_not_hold_pruning_up() -> None:
    db = MemoryDB()
    pending = {i.to_bytes(32, "big") for i in range(MAX_EXAMINED_PER_FLUSH)}
    log = FirstSeenLog(db, pending, lambda: 1_000)
    for tx_hash in sorted(pending):
        log.record(tx_hash, 0)
    gone = b"\xff" * 32
    log.record(gone, 1)
    log.flush(1)
    log.flush(5_000)  # the pending ones are kept from now
    log.flush(5_001)
    assert log.get(gone) is None
    assert all(log.get(h) == 0 for h in pending)


async def test_the_log_survives_an_unclean_close_and_is_pruned_after_it(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    chain = new_chain(make_genesis(default_alloc()), LevelDB(tmp_path / "db"))
    node = node_on(chain)
    sent = transfer(SENDER, OTHER.address, 1, nonce=0)
    node.submit_transaction(sent.encoded)  # journaled: pending again after the restart
    relayed = transfer(OTHER, SENDER.address, 1, nonce=0)
    node.receive_transaction(relayed)  # a peer's: not pending after the restart
    await next_block(node)
    seen = {tx.hash: node.first_seen.get(tx.hash) for tx in (sent, relayed)}
    late = transfer(KEYS[2], OTHER.address, 1, nonce=0)
    node.receive_transaction(late)  # buffered: lost with the crash, as before
    chain.db.close()  # no clean shutdown

    chain = Chain(LevelDB(tmp_path / "db"), core_rules())
    node = node_on(chain)
    assert {h: node.first_seen.get(h) for h in seen} == seen
    assert node.first_seen.get(late.hash) is None
    await past_the_horizon(node)
    assert node.first_seen.get(relayed.hash) is None
    assert node.first_seen.get(sent.hash) == seen[sent.hash]
    assert records(chain.db) == len(list(chain.db.iterate(schema.FIRST_SEEN_INDEX_PREFIX))) == 1
