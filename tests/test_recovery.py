"""Sender recovery in worker processes: the same chain as recovering in the importing process,
refusals left to the usual check, and a dead worker costing only speed."""

from __future__ import annotations

import multiprocessing

import pytest

from porchain import caches
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import (
    InvalidSignature,
    PrivateKey,
    is_recovered,
    recover_address,
)
from porchain.crypto.recovery import RecoveryPool, recover_pairs
from porchain.errors import InvalidBlock
from porchain.types.blocks import Block
from tests.factories import (
    PRODUCER,
    extend,
    make_genesis,
    new_chain,
    resign,
    state_entries,
    transfer,
)

pytestmark = pytest.mark.slow  # worker processes

SENDERS = [PrivateKey(keccak(b"recovery sender" + bytes([i]))) for i in range(24)]
BLOCKS = 3


@pytest.fixture(scope="module")
def history():
    """A genesis and BLOCKS blocks of one transfer from every sender, encoded."""
    alloc = {k: {"balance": "1000"} for k in SENDERS}
    alloc[PRODUCER] = {"balance": "1000", "rep_encumbered": "100"}
    genesis = make_genesis(alloc)
    chain = new_chain(genesis)
    for nonce in range(BLOCKS):
        extend(chain, [transfer(k, PRODUCER.address, 1, nonce=nonce) for k in SENDERS])
    blocks = [chain.get_block(chain.get_canonical_hash(n)) for n in range(1, BLOCKS + 1)]
    return genesis, [block.encode() for block in blocks]


def senders_known(block: Block) -> bool:
    return all(is_recovered(tx.signing_hash, tx.signature) for tx in block.transactions)


def import_history(genesis, encoded, pool: RecoveryPool | None):  # type: ignore[no-untyped-def]
    caches.clear()  # nothing recovered yet: the workers (or this process) do it all
    chain = new_chain(genesis)
    blocks = [Block.decode(raw) for raw in encoded]
    heads = []
    for block in blocks if pool is None else pool.ahead(blocks):
        assert pool is None or senders_known(block)  # recovered by the worker, ahead
        chain.import_block(block)
        heads.append((chain.head.hash, chain.head.state_root))
    return heads, state_entries(chain.db)


def test_importing_through_workers_gives_the_same_chain(history) -> None:
    genesis, encoded = history
    with RecoveryPool(1, min_batch=8) as pool:
        assert import_history(genesis, encoded, pool) == import_history(genesis, encoded, None)


def test_one_block_is_shared_between_this_process_and_the_workers(history) -> None:
    _, encoded = history
    caches.clear()
    block = Block.decode(encoded[0])
    with RecoveryPool(1, min_batch=8) as pool:
        pool.recover(block.transactions)
    assert senders_known(block)
    assert {tx.sender for tx in block.transactions} == {k.address for k in SENDERS}


def high_s(signature: bytes) -> bytes:
    """The same signature with s replaced by n - s: valid on the curve, refused by the rule."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (n - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])


def test_a_pair_that_does_not_recover_gets_no_answer_and_keeps_its_error() -> None:
    caches.clear()
    message = keccak(b"message")
    good = SENDERS[0].sign_hash(message)
    caches.clear()  # forget that this process made it
    bad = high_s(good)
    assert recover_pairs([(message, good), (message, bad)]) == [SENDERS[0].address, None]
    pairs = [(message, good), (message, bad)] * 4
    with RecoveryPool(1, min_batch=1) as pool:
        pool.submit(pairs, 1).wait()
    assert is_recovered(message, good)
    assert not is_recovered(message, bad)
    with pytest.raises(InvalidSignature, match="lower half"):
        recover_address(message, bad)


def test_a_block_with_a_bad_signature_is_refused_as_without_workers(history) -> None:
    genesis, encoded = history
    block = Block.decode(encoded[0])
    txs = list(block.transactions)
    tx = txs[5]
    txs[5] = type(tx).decode(tx.encoded[: -len(tx.signature)] + high_s(tx.signature))
    bad = resign(block, PRODUCER, transactions=txs).encode()  # its only defect: that signature
    caches.clear()
    with pytest.raises(InvalidBlock) as without:
        new_chain(genesis).import_block(Block.decode(bad))
    caches.clear()
    chain = new_chain(genesis)
    with RecoveryPool(1, min_batch=8) as pool, pytest.raises(InvalidBlock) as through:
        for block in pool.ahead([Block.decode(bad)]):
            chain.import_block(block)
    assert "signature" in str(without.value)
    assert str(through.value) == str(without.value)
    assert chain.head.number == 0


def test_a_dead_worker_costs_only_speed(history) -> None:
    _, encoded = history
    with RecoveryPool(1, min_batch=8) as pool:
        pool.start()
        for child in multiprocessing.active_children():
            child.kill()
            child.join()
        caches.clear()
        block = Block.decode(encoded[1])
        pool.recover(block.transactions)  # the batch is lost: recovered here on demand
        assert {tx.sender for tx in block.transactions} == {k.address for k in SENDERS}
        caches.clear()
        block = Block.decode(encoded[2])
        pool.recover(block.transactions)  # a new worker is started
        assert senders_known(block)
