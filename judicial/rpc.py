"""The `jud_` RPC methods of objective evidence: the offences punished, the slashes an account
suffered.

Loaded by porchain's RPC server through the `porchain.rpc` entry point (a class taking the
node, or the read view standing in for it), so the core never imports judicial. Both methods
read the head state off the event loop, on a chain snapshot (`porchain.rpc.view`): they are
bounded by what the state keeps (the offences of the evidence window, the latest slashes of an
account) and by `limit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judicial.evidence import Offence, offence_id, punished_offences
from judicial.slashes import OFFENCE_NAMES, Slash, slash_history
from porchain.crypto.keys import to_checksum_address
from porchain.rpc import params
from porchain.rpc.params import hex0x

if TYPE_CHECKING:
    from porchain.node import Node

MAX_SLOT = 2**64 - 1


def offence_json(offence: Offence) -> dict[str, Any]:
    return {
        "id": hex0x(offence_id(offence.producer, offence.slot)),
        "producer": to_checksum_address(offence.producer),
        "slot": offence.slot,
        "evidence": OFFENCE_NAMES.get(offence.kind, str(offence.kind)),
        "block": offence.number,
        "slashed": str(offence.amount),
        "reward": str(offence.reward),
        "whistleblower": to_checksum_address(offence.whistleblower),
        "tx": hex0x(offence.tx),
    }


def slash_json(entry: Slash) -> dict[str, Any]:
    return {
        "block": entry.number,
        "offence": OFFENCE_NAMES.get(entry.offence, str(entry.offence)),
        "amount": str(entry.amount),
        "ref": hex0x(entry.ref),
    }


class JudEvidenceApi:
    def __init__(self, node: Node) -> None:
        self.chain = node.chain

    def jud_listEvidence(
        self, producer: Any = None, limit: Any = 50, before: Any = None
    ) -> list[dict[str, Any]]:
        """The offences evidence punished within the evidence window, highest slot first: of
        `producer` only if given, below slot `before` if given (the `slot` of the last one of
        the previous page)."""
        who = None if producer is None else params.address(producer, "producer")
        limit = params.limit(limit)
        below = MAX_SLOT if before is None else params.integer(before, "before", 0, MAX_SLOT)
        out = []
        for offence in reversed(punished_offences(self.chain.state()).entries):
            if offence.slot >= below or (who is not None and offence.producer != who):
                continue
            out.append(offence_json(offence))
            if len(out) == limit:
                break
        return out

    def jud_getSlashes(self, address: Any) -> dict[str, Any]:
        """What `address` was slashed: how often, how much in all, the latest in full (oldest
        first, at most `judicial.slashes.MAX_RECENT`)."""
        raw = params.address(address)
        history = slash_history(self.chain.state(), raw)
        return {
            "address": to_checksum_address(raw),
            "count": history.count,
            "total": str(history.total),
            "recent": [slash_json(entry) for entry in history.recent],
        }
