"""Signing transactions for a key: the minimum fee for their size, as the CLI and the node's
own duties (votes, commits, reveals) both need."""

from __future__ import annotations

from porchain.crypto.keys import SIGNATURE_SIZE, PrivateKey
from porchain.params import WSCParams
from porchain.types.codec import RLPItem
from porchain.types.transactions import Transaction


def sign_transaction(
    key: PrivateKey,
    *,
    chain_id: int,
    nonce: int,
    kind: int,
    payload: list[RLPItem],
    params: WSCParams,
    fee: int | None = None,
) -> Transaction:
    """Sign with `fee`, or with the least fee `params` accept for the transaction's size."""
    if fee is None:
        fee = params.min_tx_fee(0)
        while True:  # the fee's own encoding adds bytes: settle on the first fee that covers them
            size = Transaction(chain_id, nonce, kind, payload, fee, _UNSIGNED).size
            if fee >= params.min_tx_fee(size):
                break
            fee = params.min_tx_fee(size)
    return Transaction.create(
        key, chain_id=chain_id, nonce=nonce, kind=kind, payload=payload, fee=fee
    )


_UNSIGNED = bytes(SIGNATURE_SIZE)  # a signature's size is fixed: sizing needs no signing
