"""Transaction rules: every invalid transaction is refused with its own message and no effect."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from porchain.chain import Chain
from porchain.consensus.modules import BlockContext
from porchain.consensus.transfer import Transfer
from porchain.consensus.transition import process_transaction, validate_transaction
from porchain.constants import INCINERATOR
from porchain.crypto.keys import to_checksum_address
from porchain.errors import InvalidTransaction
from porchain.state.state import State
from porchain.types.codec import encode_uint
from porchain.types.transactions import Transaction, TxKind
from tests.factories import (
    CHAIN_ID,
    KEYS,
    accounts,
    build_on_head,
    dollars,
    extend,
    key,
    sign_tx,
    transfer,
)

ALICE, BOB = KEYS[1], KEYS[2]
STRANGER = key(100)  # not in the genesis: no `$` at all


def assert_refused(chain: Chain, tx: Transaction, message: str) -> None:
    """Refused by the rules with `message`, nothing changed, and left out by the builder."""
    before = list(chain.db.iterate())
    state = chain.state()
    with pytest.raises(InvalidTransaction, match=message):
        validate_transaction(state, tx, chain.rules)
    assert state.changes() == []
    with pytest.raises(InvalidTransaction, match=message):
        process_transaction(state, tx, chain.rules, BlockContext(chain.head))
    assert state.changes() == []
    assert state.root() == chain.head.state_root
    assert list(chain.db.iterate()) == before


def zero_signature(tx: Transaction) -> Transaction:
    return Transaction(tx.chain_id, tx.nonce, tx.kind, tx.payload, tx.fee, b"\x00" * 65)


@pytest.mark.parametrize(
    ("make_tx", "message"),
    [
        pytest.param(
            lambda: transfer(ALICE, BOB.address, 1, nonce=0, chain_id=CHAIN_ID + 1),
            r"^wrong chain id: this chain is 1337, the transaction is for 1338$",
            id="wrong-chain",
        ),
        pytest.param(
            lambda: sign_tx(
                ALICE,
                TxKind.TRANSFER,
                [BOB.address, encode_uint(1), b"x" * 16_400],
                nonce=0,
                fee=dollars(1),
            ),
            r"^transaction is 165\d\d bytes, over the limit of 16384$",
            id="oversized",
        ),
        pytest.param(
            lambda: transfer(ALICE, BOB.address, 1, nonce=0, fee=1_000_000),
            r"^fee too low: 0\.001 \$, at least 0\.0011\d* \$ for 1\d\d bytes$",
            id="fee-too-low",
        ),
        pytest.param(
            lambda: transfer(ALICE, BOB.address, 1, nonce=1),
            r"^nonce gap: next nonce is 0, got 1$",
            id="nonce-gap",
        ),
        pytest.param(
            lambda: transfer(ALICE, BOB.address, dollars(1000), nonce=0),
            rf"^insufficient funds: {to_checksum_address(ALICE.address)} has 1000 \$, "
            r"needs 1000\.0011\d* \$$",
            id="insufficient-funds",
        ),
        pytest.param(
            lambda: transfer(STRANGER, BOB.address, 0, nonce=0),
            r"^insufficient funds: 0x[0-9a-fA-F]{40} has 0 \$, needs 0\.0011\d* \$$",
            id="unfunded-sender",
        ),
        pytest.param(
            lambda: sign_tx(ALICE, 200, [], nonce=0),
            r"^unsupported transaction kind KIND_200 on this chain$",
            id="unsupported-kind",
        ),
        pytest.param(
            lambda: sign_tx(ALICE, TxKind.TRANSFER, [b"short", encode_uint(1)], nonce=0),
            r"^malformed TRANSFER: to must be 20 bytes, got 5 bytes$",
            id="malformed-to",
        ),
        pytest.param(
            lambda: sign_tx(ALICE, TxKind.TRANSFER, [BOB.address, b"\x00\x01"], nonce=0),
            r"^malformed TRANSFER: amount has leading zero bytes",
            id="malformed-amount",
        ),
        pytest.param(
            lambda: sign_tx(ALICE, TxKind.TRANSFER, [BOB.address], nonce=0),
            r"^malformed TRANSFER: TRANSFER payload must have 2 fields, got 1$",
            id="malformed-shape",
        ),
        pytest.param(
            lambda: sign_tx(ALICE, TxKind.TRANSFER, [BOB.address, [b"\x01"]], nonce=0),
            r"^malformed TRANSFER: amount must be an integer, got a list$",
            id="malformed-nested",
        ),
        pytest.param(
            lambda: zero_signature(transfer(ALICE, BOB.address, 1, nonce=0)),
            r"^bad signature: signature r out of range$",
            id="bad-signature",
        ),
    ],
)
def test_invalid_transaction_is_refused(
    chain: Chain, make_tx: Callable[[], Transaction], message: str
) -> None:
    assert_refused(chain, make_tx(), message)


def test_replayed_transaction_is_refused(chain: Chain) -> None:
    tx = transfer(ALICE, BOB.address, 5, nonce=0)
    extend(chain, [tx])
    assert_refused(chain, tx, r"^nonce too low: 0 was already used, next is 1 \(replayed\?\)$")
    assert_refused(
        chain, Transaction.decode(tx.encoded), r"^nonce too low: 0 was already used, next is 1"
    )


def test_the_builder_leaves_invalid_transactions_out(chain: Chain) -> None:
    good = transfer(ALICE, BOB.address, 5, nonce=0)
    gap = transfer(BOB, ALICE.address, 5, nonce=3)
    after_failure = transfer(BOB, ALICE.address, 5, nonce=0)  # its sender already failed
    built = build_on_head(chain, [gap, good, after_failure])
    assert built.block.transactions == (good,)
    assert [(tx, reason.split(":")[0]) for tx, reason in built.rejected] == [
        (gap, "nonce gap"),
        (after_failure, "an earlier transaction of its sender was left out"),
    ]
    chain.import_block(built.block)
    assert chain.head == built.block.header


def test_validation_of_a_good_transfer_returns_its_payload(chain: Chain) -> None:
    tx = transfer(ALICE, BOB.address, 42, nonce=0)
    state = chain.state()
    handler, payload = validate_transaction(state, tx, chain.rules)
    assert handler.kind == TxKind.TRANSFER
    assert payload == Transfer(BOB.address, 42)
    assert handler.describe(payload) == {"to": to_checksum_address(BOB.address), "amount": "42"}
    assert state.changes() == []


def apply(chain: Chain, *txs: Transaction) -> tuple[State, BlockContext]:
    state = chain.state()
    ctx = BlockContext(chain.head)
    for tx in txs:
        process_transaction(state, tx, chain.rules, ctx)
    return state, ctx


def test_transfer_moves_balance_and_bumps_nonce(chain: Chain) -> None:
    first = transfer(ALICE, BOB.address, dollars(7), nonce=0)
    second = transfer(ALICE, STRANGER.address, dollars("0.5"), nonce=1)
    state, ctx = apply(chain, first, second)
    assert state.account(ALICE.address).balance == dollars("992.5") - first.fee - second.fee
    assert state.account(ALICE.address).nonce == 2
    assert state.account(BOB.address).balance == dollars(1007)
    assert state.account(BOB.address).nonce == 0
    assert state.account(STRANGER.address).balance == dollars("0.5")
    assert ctx.fees == first.fee + second.fee
    assert state.supply.dollars == chain.state().supply.dollars  # fees are paid out at end_block
    assert state.supply.dollars_burned == 0


def test_transfer_to_self_costs_only_the_fee(chain: Chain) -> None:
    tx = transfer(ALICE, ALICE.address, dollars(10), nonce=0)
    state, _ = apply(chain, tx)
    assert state.account(ALICE.address).balance == dollars(1000) - tx.fee
    assert state.account(ALICE.address).nonce == 1


def test_transfer_to_the_incinerator_burns(chain: Chain) -> None:
    tx = transfer(ALICE, INCINERATOR, dollars(100), nonce=0)
    before = chain.state().supply
    state, _ = apply(chain, tx)
    assert state.account(ALICE.address).balance == dollars(900) - tx.fee
    assert state.account(INCINERATOR).balance == 0
    assert state.supply.dollars == before.dollars - dollars(100)
    assert state.supply.dollars_burned == before.dollars_burned + dollars(100)
    extend(chain, [tx])
    assert INCINERATOR not in accounts(chain.db)
    # Nobody holds gREP, so the dev budget (10% of fee + subsidy) burns as well.
    dev_budget = (tx.fee + dollars(10)) // 10
    assert chain.state().supply.dollars_burned == dollars(100) + dev_budget


def test_whole_balance_can_be_spent_but_not_one_unit_more(chain: Chain) -> None:
    fee = dollars("0.01")
    exact = transfer(ALICE, BOB.address, dollars(1000) - fee, nonce=0, fee=fee)
    state, _ = apply(chain, exact)
    assert state.account(ALICE.address).balance == 0
    over = transfer(ALICE, BOB.address, dollars(1000) - fee + 1, nonce=0, fee=fee)
    assert_refused(chain, over, "^insufficient funds")
