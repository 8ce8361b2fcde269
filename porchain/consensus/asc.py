"""The Availability Smart Contract (PROTOCOL section 6): encumber, release, unbond, liveness.

A REP holder becomes available to produce by encumbering REP. Released REP waits in `rep_pending`
until the end of epoch `current + unbonding_epochs`, so late evidence can still slash it. A member
that misses `max_missed_slots` scheduled slots in a row is released automatically (no slashing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from porchain.consensus.ledger import join_asc
from porchain.consensus.modules import BlockContext, Module, TxHandler
from porchain.errors import DecodeError, InvalidTransaction
from porchain.state.objects import Unbonding, Weight
from porchain.state.state import State
from porchain.types.codec import RLPItem, decode_list, decode_uint, encode_uint
from porchain.types.transactions import Transaction, TxKind
from porchain.units import format_amount


def epoch_of(state: State, slot: int) -> int:
    return slot // state.params.epoch_slots


# -- rules -----------------------------------------------------------------------------------------


def encumber(state: State, address: bytes, amount: int) -> None:
    account = state.account(address)
    account.rep -= amount
    account.rep_encumbered += amount
    join_asc(state, address)


def release(state: State, address: bytes, amount: int, epoch: int) -> None:
    """Move `amount` of unstaked encumbered REP to pending; it frees after unbonding."""
    account = state.account(address)
    account.rep_encumbered -= amount
    account.rep_pending += amount
    queue = state.unbonding.entries
    queue.append(Unbonding(epoch + state.params.unbonding_epochs, address, amount))
    queue.sort(key=lambda u: (u.epoch, u.address))


def process_unbonding(state: State, epoch: int) -> None:
    """When `epoch` ends, pending REP due by then becomes free REP."""
    queue = state.unbonding
    for entry in [u for u in queue.entries if u.epoch <= epoch]:
        account = state.account(entry.address)
        account.rep_pending -= entry.amount
        account.rep += entry.amount
    queue.entries = [u for u in queue.entries if u.epoch > epoch]


def record_missed_slot(state: State, producer: bytes, slot: int) -> None:
    member = state.asc_member(producer)
    member.missed += 1
    if member.missed >= state.params.max_missed_slots:
        member.missed = 0
        amount = state.account(producer).rep_encumbered
        if amount:
            release(state, producer, amount, epoch_of(state, slot))


def record_produced(state: State, producer: bytes) -> None:
    state.asc_member(producer).missed = 0


def asc_snapshot(state: State, excluded: frozenset[bytes] = frozenset()) -> list[Weight]:
    """Members by address with their ASC weight; members left with none are dropped."""
    members = state.asc_members
    members.addresses = [a for a in members.addresses if state.account(a).asc_weight > 0]
    return [
        Weight(address, state.account(address).asc_weight)
        for address in members.addresses
        if address not in excluded
    ]


# -- transactions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Amount:
    amount: int

    def to_rlp(self) -> list[RLPItem]:
        return [encode_uint(self.amount)]


class AmountHandler(TxHandler[Amount]):
    """A kind whose payload is one positive REP amount."""

    def decode(self, payload: list[RLPItem]) -> Amount:
        name = TxKind(self.kind).name
        try:
            amount = decode_uint(decode_list(payload, 1, f"{name} payload")[0], "amount", 16)
        except DecodeError as exc:
            raise InvalidTransaction(f"malformed {name}: {exc}") from None
        if amount == 0:
            raise InvalidTransaction(f"{name} amount must be positive")
        return Amount(amount)

    def describe(self, payload: Amount) -> dict[str, Any]:
        return {"amount": str(payload.amount)}


class EncumberHandler(AmountHandler):
    kind = TxKind.ENCUMBER

    def validate(self, state: State, tx: Transaction, payload: Amount) -> None:
        free = state.account(tx.sender).rep
        if free < payload.amount:
            raise InvalidTransaction(
                f"cannot encumber {format_amount(payload.amount)} REP: only "
                f"{format_amount(free)} REP is free"
            )

    def apply(self, state: State, tx: Transaction, payload: Amount, ctx: BlockContext) -> None:
        encumber(state, tx.sender, payload.amount)


class ReleaseHandler(AmountHandler):
    kind = TxKind.RELEASE

    def validate(self, state: State, tx: Transaction, payload: Amount) -> None:
        encumbered = state.account(tx.sender).rep_encumbered
        if encumbered < payload.amount:
            raise InvalidTransaction(
                f"cannot release {format_amount(payload.amount)} REP: only "
                f"{format_amount(encumbered)} REP is encumbered and not staked"
            )

    def apply(self, state: State, tx: Transaction, payload: Amount, ctx: BlockContext) -> None:
        release(state, tx.sender, payload.amount, epoch_of(state, ctx.header.slot))


class AscModule(Module):
    name = "asc"

    def handlers(self) -> list[TxHandler[Any]]:
        return [EncumberHandler(), ReleaseHandler()]

    def end_epoch(self, state: State, epoch: int) -> None:
        process_unbonding(state, epoch)

    def skip_epochs(self, state: State, first: int, last: int) -> None:
        process_unbonding(state, last)
