"""Slashing an offender, and the record of what each account was slashed for.

Every judicial penalty goes through `slash`: it takes a share of all the offender's REP
(`ledger.slash_rep`: free, encumbered, pending, staked in open pools) into pool-held REP for
the caller to pay out or burn, and notes it in the account's slash history, which the
`jud_getSlashes` RPC and `porchain chain account` show. The history keeps a total and count of
every slash and the `MAX_RECENT` latest in full, so it stays bounded however often an account
offends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from porchain.consensus.ledger import slash_rep
from porchain.db import schema
from porchain.state.state import State
from porchain.types.records import Record

EQUIVOCATION, INVALID_BLOCK, CENSORSHIP = 0, 1, 2
OFFENCE_NAMES = {
    EQUIVOCATION: "equivocation",
    INVALID_BLOCK: "invalid_block",
    CENSORSHIP: "censorship",
}
MAX_RECENT = 16


@dataclass(slots=True)
class Slash(Record):
    number: int = 0  # the block that applied it
    offence: int = 0
    amount: int = 0  # REP taken
    ref: bytes = b""  # what proved it: the evidence's offence id, or the case id


@dataclass(slots=True)
class SlashHistory(Record):
    count: int = 0
    total: int = 0
    recent: list[Slash] = field(default_factory=list)  # oldest first, at most MAX_RECENT


def slash_history(state: State, address: bytes) -> SlashHistory:
    return state.get(schema.slash_history_state_key(address), SlashHistory)


def slash(state: State, offender: bytes, ppm: int, *, offence: int, number: int, ref: bytes) -> int:
    """Take `ppm` of all `offender`'s REP into pool-held REP, record it, return the amount."""
    taken = slash_rep(state, offender, ppm)
    history = slash_history(state, offender)
    history.count += 1
    history.total += taken
    history.recent = [*history.recent, Slash(number, offence, taken, ref)][-MAX_RECENT:]
    return taken
