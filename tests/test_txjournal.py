"""The local transaction journal: what was sent to a node's RPC survives its restart until a
block includes it; what only came from peers, or was included, is not kept."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.db import schema
from porchain.db.level import LevelDB
from porchain.node import Node, NodeConfig
from porchain.types.transactions import Transaction
from tests.factories import (
    GENESIS_TIME_MS,
    KEYS,
    build_on_head,
    core_rules,
    default_alloc,
    extend,
    make_genesis,
    new_chain,
    transfer,
)

SENDER, OTHER = KEYS[0], KEYS[1]


def started(chain: Chain) -> Node:
    """A node as `porchain node run` starts it (without services): the journal is restored.
    Its clock reads the start of the slot after the head's at trio time 0."""
    slot_ms = chain.state().params.slot_ms
    now_ms = GENESIS_TIME_MS + (chain.head.slot + 1) * slot_ms
    clock = SlotClock(GENESIS_TIME_MS, slot_ms, offset_ms=now_ms)
    node = Node(chain, clock, config=NodeConfig(rpc_port=None, produce=False))
    node.restore_local_transactions()
    return node


def reopened(path: Path) -> Chain:
    return Chain(LevelDB(path), core_rules())


def one_sent(path: Path) -> tuple[Chain, Transaction]:
    """A node on a new LevelDB chain, sent one transfer through its RPC path."""
    chain = new_chain(make_genesis(default_alloc()), LevelDB(path))
    tx = transfer(SENDER, OTHER.address, 1, nonce=0)
    started(chain).submit_transaction(tx.encoded)
    return chain, tx


async def test_sent_transactions_survive_a_restart_and_go_once_included(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    chain = new_chain(make_genesis(default_alloc()), LevelDB(tmp_path / "db"))
    node = started(chain)
    sent = [transfer(SENDER, OTHER.address, 1, nonce=n) for n in range(3)]
    for tx in sent:
        node.submit_transaction(tx.encoded)
    relayed = transfer(OTHER, SENDER.address, 1, nonce=0)
    node.receive_transaction(relayed)  # from a peer: its sender's node keeps it
    chain.db.close()  # no clean shutdown: nothing is flushed on the way out

    chain = reopened(tmp_path / "db")
    node = started(chain)
    assert node.mempool.transactions() == sent
    assert [tx.hash in node.tx_journal for tx in sent] == [True] * 3

    block = build_on_head(chain, sent[:2]).block
    slot_start_ms = GENESIS_TIME_MS + block.slot * chain.state().params.slot_ms
    await trio.sleep(max(0, slot_start_ms - node.clock.now_ms()) / 1000)
    node.import_block(block)
    assert [tx.hash in node.tx_journal for tx in sent] == [False, False, True]
    chain.db.close()

    node = started(reopened(tmp_path / "db"))
    assert node.mempool.transactions() == sent[2:]


async def test_a_transaction_the_chain_moved_past_is_forgotten_on_start(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    chain, _ = one_sent(tmp_path / "db")
    extend(chain, [transfer(SENDER, OTHER.address, 2, nonce=0)])  # same nonce, other block
    chain.db.close()

    chain = reopened(tmp_path / "db")
    node = started(chain)
    assert len(node.mempool) == 0
    assert list(chain.db.iterate(schema.LOCAL_TX_PREFIX)) == []


async def test_a_damaged_journal_entry_is_dropped_and_the_rest_kept(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    chain, tx = one_sent(tmp_path / "db")
    chain.db.put(schema.local_tx_key(b"\x01" * 32), b"\xc0 not a transaction")
    forged = Transaction(tx.chain_id, 1, tx.kind, tx.payload, tx.fee, b"\x00" * 65)
    chain.db.put(schema.local_tx_key(b"\x02" * 32), forged.encoded)  # decodes; no sender
    chain.db.close()

    chain = reopened(tmp_path / "db")
    node = started(chain)
    assert node.mempool.transactions() == [tx]
    assert [key for key, _ in chain.db.iterate(schema.LOCAL_TX_PREFIX)] == [
        schema.local_tx_key(tx.hash)
    ]
