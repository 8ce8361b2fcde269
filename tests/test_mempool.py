"""The mempool: admission against the head state and pending queue, priority, limits."""

from __future__ import annotations

import pytest

from porchain.chain import Chain
from porchain.errors import InvalidTransaction, MempoolFull
from porchain.genesis import Genesis
from porchain.mempool import Mempool
from tests.factories import KEYS, dollars, extend, new_chain, transfer

ALICE, BOB, CAROL = KEYS[1], KEYS[2], KEYS[3]


def pool(chain: Chain, **kwargs: int) -> Mempool:
    return Mempool(chain.rules, **kwargs)


def test_admits_consecutive_nonces_and_orders_by_fee_per_byte(chain: Chain) -> None:
    mempool = pool(chain)
    state = chain.state()
    cheap = [transfer(ALICE, BOB.address, 1, nonce=n) for n in range(3)]
    rich = transfer(CAROL, BOB.address, 1, nonce=0, fee=dollars("0.01"))
    for tx in [*cheap, rich]:
        mempool.add(tx, state)
    assert len(mempool) == 4
    assert mempool.pending_count(ALICE.address) == 3
    assert list(mempool.candidates()) == [rich, *cheap]


def test_a_higher_paying_later_nonce_still_waits_for_its_predecessor(chain: Chain) -> None:
    mempool = pool(chain)
    state = chain.state()
    first = transfer(ALICE, BOB.address, 1, nonce=0)
    second = transfer(ALICE, BOB.address, 1, nonce=1, fee=dollars("0.05"))
    other = transfer(CAROL, BOB.address, 1, nonce=0, fee=dollars("0.01"))
    for tx in (first, second, other):
        mempool.add(tx, state)
    assert list(mempool.candidates()) == [other, first, second]


@pytest.mark.parametrize(
    ("nonce", "message"),
    [(5, "nonce gap: next nonce is 0, got 5"), (1, "nonce gap: next nonce is 0, got 1")],
)
def test_nonce_gap_is_refused(chain: Chain, nonce: int, message: str) -> None:
    mempool = pool(chain)
    with pytest.raises(InvalidTransaction, match=message):
        mempool.add(transfer(ALICE, BOB.address, 1, nonce=nonce), chain.state())
    assert len(mempool) == 0


def test_gap_is_measured_after_the_pending_queue(chain: Chain) -> None:
    mempool = pool(chain)
    state = chain.state()
    mempool.add(transfer(ALICE, BOB.address, 1, nonce=0), state)
    with pytest.raises(InvalidTransaction, match="next nonce is 1, got 2"):
        mempool.add(transfer(ALICE, BOB.address, 1, nonce=2), state)


def test_replayed_and_duplicate_transactions_are_refused(chain: Chain) -> None:
    mempool = pool(chain)
    included = transfer(ALICE, BOB.address, 1, nonce=0)
    extend(chain, [included])
    with pytest.raises(InvalidTransaction, match=r"nonce too low.*replayed"):
        mempool.add(included, chain.state())
    pending = transfer(ALICE, BOB.address, 1, nonce=1)
    mempool.add(pending, chain.state())
    with pytest.raises(InvalidTransaction, match="already in the mempool"):
        mempool.add(pending, chain.state())


def test_replacement_needs_a_fee_bump(chain: Chain) -> None:
    mempool = pool(chain)
    state = chain.state()
    original = transfer(ALICE, BOB.address, 1, nonce=0, fee=dollars("0.01"))
    mempool.add(original, state)
    with pytest.raises(InvalidTransaction, match="replacement fee too low"):
        mempool.add(transfer(ALICE, BOB.address, 2, nonce=0, fee=dollars("0.0105")), state)
    better = transfer(ALICE, BOB.address, 2, nonce=0, fee=dollars("0.011"))
    mempool.add(better, state)
    assert len(mempool) == 1
    assert mempool.get(better.hash) == better and original.hash not in mempool


def test_funds_are_checked_against_all_pending_spending(chain: Chain) -> None:
    mempool = pool(chain)
    state = chain.state()
    mempool.add(transfer(ALICE, BOB.address, dollars(600), nonce=0), state)
    with pytest.raises(InvalidTransaction, match=r"insufficient funds.*1 pending"):
        mempool.add(transfer(ALICE, BOB.address, dollars(600), nonce=1), state)
    assert len(mempool) == 1


def test_full_mempool_evicts_the_cheapest_tail_for_a_better_payer(chain: Chain) -> None:
    mempool = pool(chain, max_txs=2)
    state = chain.state()
    cheap_head = transfer(ALICE, BOB.address, 1, nonce=0, fee=dollars("0.002"))
    cheap_tail = transfer(ALICE, BOB.address, 1, nonce=1, fee=dollars("0.002"))
    mempool.add(cheap_head, state)
    mempool.add(cheap_tail, state)
    with pytest.raises(MempoolFull, match="mempool is full"):
        mempool.add(transfer(CAROL, BOB.address, 1, nonce=0, fee=dollars("0.002")), state)
    better = transfer(CAROL, BOB.address, 1, nonce=0, fee=dollars("0.003"))
    mempool.add(better, state)
    assert set(mempool.transactions()) == {cheap_head, better}


def test_new_head_forgets_included_and_passed_transactions(chain: Chain) -> None:
    mempool = pool(chain)
    state = chain.state()
    txs = [transfer(ALICE, BOB.address, 1, nonce=n) for n in range(3)]
    for tx in txs:
        mempool.add(tx, state)
    block = extend(chain, txs[:2])
    mempool.on_new_head(block.transactions, chain.state())
    assert mempool.transactions() == [txs[2]]


def test_a_reverted_transaction_returns_ahead_of_its_senders_pending_ones(
    chain: Chain, genesis: Genesis
) -> None:
    """A reorg reverts the block with ALICE's nonce 0 while her nonce 1 waits: both must stay
    (nonce 0 was refused, as if a gap, and nonce 1 then dropped as one)."""
    before = new_chain(genesis).state()  # the new head's: nonce 0 not applied
    mempool = pool(chain)
    txs = [transfer(ALICE, BOB.address, 1, nonce=n) for n in range(2)]
    mempool.on_new_head(extend(chain, txs[:1]).transactions, chain.state())
    mempool.add(txs[1], chain.state())
    assert mempool.readmit(txs[:1], before) == txs[:1]
    assert mempool.transactions() == txs
    assert mempool.revalidate(before) == []


def test_removing_a_transaction_drops_the_senders_later_ones(chain: Chain) -> None:
    mempool = pool(chain)
    state = chain.state()
    txs = [transfer(ALICE, BOB.address, 1, nonce=n) for n in range(3)]
    for tx in txs:
        mempool.add(tx, state)
    mempool.remove([txs[1]])
    assert mempool.transactions() == [txs[0]]
    assert mempool.pending_count(ALICE.address) == 1
