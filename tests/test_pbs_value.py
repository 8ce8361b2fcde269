"""A builder's unsigned block: checked by every import rule but the signature, and valued."""

from __future__ import annotations

from dataclasses import replace

import pytest

from porchain.builder import build_unsigned
from porchain.chain import Chain
from porchain.consensus.slots import scheduled_producer
from porchain.errors import InvalidBlock
from porchain.pbs.value import check_unsigned_block
from porchain.types.blocks import Block, compute_tx_root
from tests.factories import KEYS, PRODUCER, dollars, next_slot, transfer

BUILDER = KEYS[3]


def unsigned_block(chain: Chain, txs: list) -> Block:
    slot, _ = next_slot(chain, chain.head.slot)
    producer = scheduled_producer(chain.state(), slot, chain.rules)
    built = build_unsigned(chain.state(), chain.head, slot, producer, txs, chain.rules)
    assert not built.rejected, built.rejected
    return built.block


def test_the_value_is_the_payment_plus_at_most_the_salary_from_its_fee(chain: Chain) -> None:
    empty = check_unsigned_block(chain.state(), unsigned_block(chain, []), chain.rules)
    payment = transfer(BUILDER, PRODUCER.address, dollars(3), nonce=0)
    paid = check_unsigned_block(chain.state(), unsigned_block(chain, [payment]), chain.rules)
    gained = paid.value - empty.value
    assert paid.fees == empty.fees + payment.fee
    assert dollars(3) <= gained <= dollars(3) + payment.fee


def test_a_checked_block_signed_by_its_producer_imports(chain: Chain) -> None:
    block = unsigned_block(chain, [transfer(BUILDER, PRODUCER.address, dollars(1), nonce=0)])
    before = chain.state().root()
    check_unsigned_block(chain.state(), block, chain.rules)
    assert chain.state().root() == before  # the parent's state is left as it was
    chain.import_block(Block(block.header.signed(PRODUCER), block.transactions))
    assert chain.head.hash != block.header.hash and chain.head.number == block.number


def test_a_wrong_state_root_or_transaction_root_is_refused(chain: Chain) -> None:
    block = unsigned_block(chain, [transfer(BUILDER, PRODUCER.address, dollars(1), nonce=0)])
    lied = Block(replace(block.header, state_root=b"\x01" * 32), block.transactions)
    with pytest.raises(InvalidBlock, match="state_root mismatch"):
        check_unsigned_block(chain.state(), lied, chain.rules)
    with pytest.raises(InvalidBlock, match="tx_root"):
        check_unsigned_block(chain.state(), Block(block.header, ()), chain.rules)


def test_an_invalid_transaction_is_refused(chain: Chain) -> None:
    block = unsigned_block(chain, [])
    overdrawn = transfer(BUILDER, PRODUCER.address, dollars(10**6), nonce=0)
    header = replace(block.header, tx_root=compute_tx_root([overdrawn]))
    with pytest.raises(InvalidBlock, match="transaction 0"):
        check_unsigned_block(chain.state(), Block(header, (overdrawn,)), chain.rules)
