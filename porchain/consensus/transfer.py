"""TRANSFER: move `$` from the sender to another account (PROTOCOL section 4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from porchain.consensus.modules import BlockContext, Module, TxHandler
from porchain.consensus.salary import burn_dollars
from porchain.constants import INCINERATOR
from porchain.crypto.keys import ADDRESS_SIZE, to_checksum_address
from porchain.errors import DecodeError, InvalidTransaction
from porchain.state.state import State
from porchain.types.codec import RLPItem, decode_fixed, decode_list, decode_uint, encode_uint
from porchain.types.transactions import Transaction, TxKind


@dataclass(frozen=True, slots=True)
class Transfer:
    to: bytes
    amount: int

    def to_rlp(self) -> list[RLPItem]:
        return [self.to, encode_uint(self.amount)]


class TransferHandler(TxHandler[Transfer]):
    kind = TxKind.TRANSFER

    def decode(self, payload: list[RLPItem]) -> Transfer:
        try:
            items = decode_list(payload, 2, "TRANSFER payload")
            return Transfer(
                decode_fixed(items[0], ADDRESS_SIZE, "to"), decode_uint(items[1], "amount", 16)
            )
        except DecodeError as exc:
            raise InvalidTransaction(f"malformed TRANSFER: {exc}") from None

    def spends(self, state: State, payload: Transfer) -> int:
        return payload.amount

    def apply(self, state: State, tx: Transaction, payload: Transfer, ctx: BlockContext) -> None:
        state.account(tx.sender).balance -= payload.amount
        if payload.to == INCINERATOR:
            burn_dollars(state, payload.amount)
        else:
            state.account(payload.to).balance += payload.amount

    def describe(self, payload: Transfer) -> dict[str, Any]:
        return {"to": to_checksum_address(payload.to), "amount": str(payload.amount)}


class TransferModule(Module):
    name = "transfer"

    def handlers(self) -> list[TxHandler[Any]]:
        return [TransferHandler()]
