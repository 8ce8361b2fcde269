"""Relays and builders that cheat, as small subclasses of the honest ones (docs/relays.md):
what a producer's checks and record (porchain.pbs.producer, porchain.pbs.record) must survive.

- `withhold after=N`: reveals N bodies honestly, then none: the producer signed an acceptance
  and gets nothing, so it must fall back to its own block within the slot;
- `overstate by=X`: vouches for every bid at X `$` base units more than the block pays;
- `unchecked`: offers builders' blocks without checking them, invalid ones included;
- `censor senders=A,B`: refuses every block holding a transaction from those senders;

and a builder:

- `censor senders=A,B`: leaves the transactions of those senders out of its blocks, which
  voters who saw them in time vote AGAINST, at the producer's cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from porchain.behaviours.base import ADDRESSES, INT, BehaviourError, Param, parse_args
from porchain.crypto.keys import to_checksum_address
from porchain.pbs.builder import Builder
from porchain.pbs.messages import Bid, SignedBid, Submission
from porchain.pbs.relay import Relay, RelayError
from porchain.types.transactions import Transaction


@dataclass
class WithholdingRelay(Relay):
    name = "withhold"
    params = (Param("after", INT, 0, "bodies revealed honestly before withholding all"),)
    revealed: int = 0

    def reveal(self, raw: bytes) -> tuple[Transaction, ...]:
        if self.revealed >= self.args["after"]:
            raise RelayError(503, "the body is not available")
        transactions = super().reveal(raw)
        self.revealed += 1
        return transactions


@dataclass
class OverstatingRelay(Relay):
    name = "overstate"
    params = (Param("by", INT, 10**6, "$ base units claimed above what a block pays"),)

    def vouch(self, bid: Bid) -> SignedBid:
        return super().vouch(replace(bid, value=bid.value + self.args["by"]))


@dataclass
class UncheckedRelay(Relay):
    name = "unchecked"

    async def check(self, submission: Submission) -> None:
        return None


@dataclass
class CensoringRelay(Relay):
    name = "censor"
    params = (Param("senders", ADDRESSES, frozenset(), "senders whose transactions it refuses"),)

    async def check(self, submission: Submission) -> None:
        for tx in submission.transactions:
            if tx.sender in self.args["senders"]:
                who = to_checksum_address(tx.sender)
                raise RelayError(400, f"this relay takes no transactions from {who}")
        await super().check(submission)


class CensoringBuilder(Builder):
    name = "censor"
    params = (Param("senders", ADDRESSES, frozenset(), "senders whose transactions it leaves out"),)

    def excluded(self) -> list[bytes]:
        return sorted(self.args["senders"])


RELAYS: dict[str, type[Relay]] = {
    cls.name: cls
    for cls in (Relay, WithholdingRelay, OverstatingRelay, UncheckedRelay, CensoringRelay)
}
BUILDERS: dict[str, type[Builder]] = {cls.name: cls for cls in (Builder, CensoringBuilder)}


def relay_kind(name: str, args: Sequence[str]) -> tuple[type[Relay], dict[str, Any]]:
    """The relay class `name` and its `key=value` arguments parsed; BehaviourError if either
    is wrong."""
    cls = _chosen(RELAYS, "relay", name)
    return cls, parse_args(cls, args)  # type: ignore[arg-type]


def builder_kind(name: str, args: Sequence[str]) -> tuple[type[Builder], dict[str, Any]]:
    """The builder class `name` and its `key=value` arguments parsed; BehaviourError if either
    is wrong."""
    cls = _chosen(BUILDERS, "builder", name)
    return cls, parse_args(cls, args)  # type: ignore[arg-type]


def _chosen(kinds: dict[str, type], what: str, name: str) -> type:
    if name not in kinds:
        raise BehaviourError(f"unknown {what} behaviour {name!r}: choose one of {', '.join(kinds)}")
    return kinds[name]
