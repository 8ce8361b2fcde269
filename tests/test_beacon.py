"""The commit-reveal beacon: windows, reveals, penalties, the mix and the schedule it drives."""

from __future__ import annotations

import pytest

from porchain.chain import Chain
from porchain.consensus.beacon import EpochValue, commitment_for
from porchain.consensus.slots import advance_to_slot, scheduled_producer
from porchain.consensus.transition import validate_transaction
from porchain.crypto.hashing import keccak
from porchain.errors import InvalidTransaction
from porchain.types.transactions import Transaction, TxKind
from tests.factories import KEYS, extend, make_genesis, new_chain, sign_tx

PRODUCERS = KEYS[:3]
SALT = {k.address: keccak(b"salt" + k.address) for k in KEYS}
EPOCH_SLOTS = 4  # the minimal preset: commits in slots 4e, 4e+1; reveals in 4e+2, 4e+3


@pytest.fixture
def chain() -> Chain:
    alloc = {k: {"balance": "1000", "rep_encumbered": "100"} for k in PRODUCERS}
    alloc[KEYS[5]] = {"balance": "1000", "rep": "100"}  # holds REP, none of it encumbered
    return new_chain(make_genesis(alloc))


def nonce(chain: Chain, key) -> int:
    return chain.state().account(key.address).nonce


def commit(chain: Chain, key, epoch: int) -> Transaction:
    value = commitment_for(SALT[key.address], key.address, epoch)
    return sign_tx(key, TxKind.COMMIT, EpochValue(epoch, value).to_rlp(), nonce=nonce(chain, key))


def reveal(chain: Chain, key, epoch: int, salt: bytes | None = None, bump: int = 0) -> Transaction:
    payload = EpochValue(epoch, salt or SALT[key.address]).to_rlp()
    return sign_tx(key, TxKind.REVEAL, payload, nonce=nonce(chain, key) + bump)


def at_slot(chain: Chain, slot: int):
    """The state a block at `slot` would validate its transactions against."""
    return advance_to_slot(chain.state(), slot, chain.rules)


def extend_at(chain: Chain, slot: int, txs=()) -> None:
    producer = scheduled_producer(chain.state(), slot, chain.rules)
    signer = next(k for k in PRODUCERS if k.address == producer)
    extend(chain, list(txs), slot=slot, keys=[signer])


def test_withheld_reveal_is_penalised_and_left_out_of_the_next_schedule(chain: Chain) -> None:
    withholder, honest = PRODUCERS[1], PRODUCERS[0]
    extend_at(chain, 4, [commit(chain, honest, 1), commit(chain, withholder, 1)])
    mix_before = chain.state().beacon.mix  # mix[1], from epoch 0 with no reveals
    extend_at(chain, 6, [reveal(chain, honest, 1)])
    weight_before = chain.state().account(withholder.address).asc_weight
    extend_at(chain, 8)  # epoch 1 ends before this block applies
    state = chain.state()
    record = state.epoch_record(1)
    assert [p.address for p in record.penalties] == [withholder.address]
    assert record.penalties[0].amount == 1 * 10**9  # 1% of 100 REP
    assert weight_before - state.account(withholder.address).asc_weight == 10**9
    assert state.beacon.mix == keccak(mix_before + SALT[honest.address]) == record.next_mix
    schedule = state.schedule(3)  # drawn at the end of epoch 1
    assert withholder.address not in {w.address for w in schedule.snapshot}
    assert withholder.address not in schedule.producers
    assert len(schedule.producers) == EPOCH_SLOTS


def test_reveals_that_must_be_refused(chain: Chain) -> None:
    key = PRODUCERS[0]
    extend_at(chain, 4, [commit(chain, key, 1)])
    with pytest.raises(InvalidTransaction, match=r"REVEAL is accepted in slots 6\.\.7"):
        validate_transaction(at_slot(chain, 5), reveal(chain, key, 1), chain.rules)
    with pytest.raises(InvalidTransaction, match="does not match the commitment"):
        validate_transaction(at_slot(chain, 6), reveal(chain, key, 1, b"\x01" * 32), chain.rules)
    with pytest.raises(InvalidTransaction, match="no commitment from this sender"):
        validate_transaction(at_slot(chain, 6), reveal(chain, PRODUCERS[1], 1), chain.rules)
    extend_at(chain, 6, [reveal(chain, key, 1)])
    with pytest.raises(InvalidTransaction, match="already revealed in epoch 1"):
        validate_transaction(at_slot(chain, 7), reveal(chain, key, 1), chain.rules)
    with pytest.raises(InvalidTransaction, match="for epoch 1 in epoch 2 \\(too late\\)"):
        validate_transaction(at_slot(chain, 10), reveal(chain, key, 1), chain.rules)


def test_commits_that_must_be_refused(chain: Chain) -> None:
    key = PRODUCERS[0]
    with pytest.raises(InvalidTransaction, match=r"COMMIT is accepted in slots 4\.\.5"):
        validate_transaction(at_slot(chain, 6), commit(chain, key, 1), chain.rules)
    with pytest.raises(InvalidTransaction, match="only ASC members commit"):
        validate_transaction(at_slot(chain, 4), commit(chain, KEYS[5], 1), chain.rules)
    extend_at(chain, 4, [commit(chain, key, 1)])
    with pytest.raises(InvalidTransaction, match="already committed in epoch 1"):
        validate_transaction(at_slot(chain, 5), commit(chain, key, 1), chain.rules)


def test_schedules_are_known_one_epoch_ahead(chain: Chain) -> None:
    state = chain.state()
    assert len(state.schedule(0).producers) == len(state.schedule(1).producers) == EPOCH_SLOTS
    assert state.schedule(2).producers == []
    extend_at(chain, 4)  # epoch 0 ended: epoch 2 is drawn, epoch 0's schedule is dropped
    state = chain.state()
    assert len(state.schedule(2).producers) == EPOCH_SLOTS
    assert state.schedule(0).producers == []
