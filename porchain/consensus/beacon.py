"""The commit-reveal random beacon (PROTOCOL section 6, after RANDAO).

In the first half of epoch e, ASC members send `COMMIT(e, keccak(salt || address || e))`; in the
second half, `REVEAL(e, salt)`. When e ends: a member that committed and did not reveal loses
`reveal_penalty_ppm` of its encumbered REP and is left out of the next schedule;
`mix[e+1] = keccak(mix[e] || revealed salts ordered by address)`; and the producers of epoch e+2
are drawn from `mix[e+1]` and the ASC snapshot taken now, so the schedule is known an epoch ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from porchain.consensus.asc import asc_snapshot, epoch_of
from porchain.consensus.ledger import burn_encumbered_rep
from porchain.consensus.modules import BlockContext, Module, TxHandler
from porchain.consensus.selection import compute_schedule
from porchain.constants import PPM
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import to_checksum_address
from porchain.db.schema import schedule_state_key
from porchain.errors import DecodeError, InvalidTransaction
from porchain.state.objects import Commit, Penalty, Reveal, Schedule, Weight
from porchain.state.state import State
from porchain.types.codec import RLPItem, decode_fixed, decode_list, decode_uint, encode_uint
from porchain.types.transactions import Transaction, TxKind

SALT_SIZE = 32


def commitment_for(salt: bytes, address: bytes, epoch: int) -> bytes:
    return keccak(salt + address + epoch.to_bytes(8, "big"))


def commit_window(state: State, epoch: int) -> range:
    epoch_slots = state.params.epoch_slots
    start = epoch * epoch_slots
    return range(start, start + epoch_slots // 2)


def reveal_window(state: State, epoch: int) -> range:
    epoch_slots = state.params.epoch_slots
    start = epoch * epoch_slots
    return range(start + epoch_slots // 2, start + epoch_slots)


# -- epoch processing ---------------------------------------------------------------------------


def process_reveal_penalties(state: State, epoch: int) -> frozenset[bytes]:
    """Penalise members that committed in `epoch` without revealing; return them."""
    record = state.epoch_record(epoch)
    revealed = {r.address for r in record.reveals}
    withheld = frozenset(c.address for c in record.commits if c.address not in revealed)
    for address in sorted(withheld):
        account = state.account(address)
        penalty = min(
            account.asc_weight * state.params.reveal_penalty_ppm // PPM, account.rep_encumbered
        )
        burn_encumbered_rep(state, address, penalty)
        record.penalties.append(Penalty(address, penalty))
    return withheld


def process_mix(state: State, epoch: int) -> bytes:
    record = state.epoch_record(epoch)
    salts = b"".join(r.salt for r in sorted(record.reveals, key=lambda r: r.address))
    mix = keccak(state.beacon.mix + salts)
    record.next_mix = mix
    return mix


def process_schedule(state: State, epoch: int, mix: bytes, snapshot: list[Weight]) -> None:
    """Draw the producers of `epoch` and store its schedule."""
    params = state.params
    beacon = state.beacon
    producers, beacon.cycle_drawn = compute_schedule(
        mix,
        snapshot,
        epoch * params.epoch_slots,
        params.epoch_slots,
        params.selection,
        beacon.cycle_drawn,
    )
    state.set(schedule_state_key(epoch), Schedule(mix, snapshot, producers))


def skip_beacon_epochs(state: State, first: int, last: int) -> None:
    """Epochs without any block reveal nothing: the mix carries over, and the two schedules
    ahead are drawn from it and the ASC as it stands. The schedules drawn before the outage, of
    the skipped epochs `first` and `first + 1`, are spent (or redrawn below) and dropped."""
    snapshot = asc_snapshot(state)
    for epoch in (first, first + 1):
        state.set(schedule_state_key(epoch), Schedule())
    for epoch in (last + 1, last + 2):
        process_schedule(state, epoch, state.beacon.mix, snapshot)
    state.beacon.epoch = last + 1


def process_beacon_epoch(state: State, epoch: int) -> None:
    withheld = process_reveal_penalties(state, epoch)
    mix = process_mix(state, epoch)
    process_schedule(state, epoch + 2, mix, asc_snapshot(state, excluded=withheld))
    state.set(schedule_state_key(epoch), Schedule())  # the ended epoch's schedule is spent
    beacon = state.beacon
    beacon.epoch = epoch + 1
    beacon.mix = mix


# -- transactions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EpochValue:
    """COMMIT's and REVEAL's payload: the epoch it is for, and a commitment or a salt."""

    epoch: int
    value: bytes

    def to_rlp(self) -> list[RLPItem]:
        return [encode_uint(self.epoch), self.value]


def decode_epoch_value(kind: str, payload: list[RLPItem], what: str) -> EpochValue:
    try:
        items = decode_list(payload, 2, f"{kind} payload")
        return EpochValue(decode_uint(items[0], "epoch", 8), decode_fixed(items[1], 32, what))
    except DecodeError as exc:
        raise InvalidTransaction(f"malformed {kind}: {exc}") from None


def check_window(state: State, kind: str, payload: EpochValue, window: range) -> None:
    slot = state.chain.slot
    epoch = epoch_of(state, slot)
    if payload.epoch != epoch:
        late = "too late" if payload.epoch < epoch else "too early"
        raise InvalidTransaction(f"{kind} for epoch {payload.epoch} in epoch {epoch} ({late})")
    if slot not in window:
        raise InvalidTransaction(
            f"{kind} is accepted in slots {window.start}..{window.stop - 1} of epoch {epoch}, "
            f"this is slot {slot}"
        )


class CommitHandler(TxHandler[EpochValue]):
    kind = TxKind.COMMIT

    def decode(self, payload: list[RLPItem]) -> EpochValue:
        return decode_epoch_value("COMMIT", payload, "commitment")

    def validate(self, state: State, tx: Transaction, payload: EpochValue) -> None:
        check_window(state, "COMMIT", payload, commit_window(state, payload.epoch))
        if state.account(tx.sender).asc_weight == 0:
            raise InvalidTransaction(
                f"{to_checksum_address(tx.sender)} has no encumbered REP: only ASC members commit"
            )
        if any(c.address == tx.sender for c in state.epoch_record(payload.epoch).commits):
            raise InvalidTransaction(f"already committed in epoch {payload.epoch}")

    def apply(self, state: State, tx: Transaction, payload: EpochValue, ctx: BlockContext) -> None:
        commits = state.epoch_record(payload.epoch).commits
        commits.append(Commit(tx.sender, payload.value))
        commits.sort(key=lambda c: c.address)

    def describe(self, payload: EpochValue) -> dict[str, Any]:
        return {"epoch": payload.epoch, "commitment": "0x" + payload.value.hex()}


class RevealHandler(TxHandler[EpochValue]):
    kind = TxKind.REVEAL

    def decode(self, payload: list[RLPItem]) -> EpochValue:
        return decode_epoch_value("REVEAL", payload, "salt")

    def validate(self, state: State, tx: Transaction, payload: EpochValue) -> None:
        check_window(state, "REVEAL", payload, reveal_window(state, payload.epoch))
        record = state.epoch_record(payload.epoch)
        commit = next((c for c in record.commits if c.address == tx.sender), None)
        if commit is None:
            raise InvalidTransaction(f"no commitment from this sender in epoch {payload.epoch}")
        if any(r.address == tx.sender for r in record.reveals):
            raise InvalidTransaction(f"already revealed in epoch {payload.epoch}")
        if commitment_for(payload.value, tx.sender, payload.epoch) != commit.commitment:
            raise InvalidTransaction("reveal does not match the commitment (wrong salt)")

    def apply(self, state: State, tx: Transaction, payload: EpochValue, ctx: BlockContext) -> None:
        reveals = state.epoch_record(payload.epoch).reveals
        reveals.append(Reveal(tx.sender, payload.value))
        reveals.sort(key=lambda r: r.address)

    def describe(self, payload: EpochValue) -> dict[str, Any]:
        return {"epoch": payload.epoch, "salt": "0x" + payload.value.hex()}


class BeaconModule(Module):
    name = "beacon"

    def handlers(self) -> list[TxHandler[Any]]:
        return [CommitHandler(), RevealHandler()]

    def end_epoch(self, state: State, epoch: int) -> None:
        process_beacon_epoch(state, epoch)

    def skip_epochs(self, state: State, first: int, last: int) -> None:
        skip_beacon_epochs(state, first, last)
