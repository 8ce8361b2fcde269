"""The `jud_` RPC methods of the court: accusations and their cases.

Loaded by porchain's RPC server through the `porchain.rpc` entry point `judicial-court`. Every
method reads the head state off the event loop, on a chain snapshot (`porchain.rpc.view`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judicial import cases as c
from porchain.crypto.keys import to_checksum_address
from porchain.rpc import params
from porchain.rpc.errors import InvalidParams
from porchain.rpc.params import hex0x

if TYPE_CHECKING:
    from porchain.node import Node

STATUSES = ("open", *c.PHASE_NAMES.values())


class CourtApi:
    def __init__(self, node: Node) -> None:
        self.chain = node.chain

    def jud_getCase(self, case_id: Any) -> dict[str, Any] | None:
        """A case in full: its phase and deadlines, the jury (each juror's weight, whether it
        committed, its revealed vote and what it was paid or lost), the verdict and payouts."""
        case_id = params.integer(case_id, "case id", 1, params.MAX_ID)
        state = self.chain.state()
        found = c.case(state, case_id)
        return None if found.is_empty() else case_json(found, state.chain.number)

    def jud_listCases(
        self, status: Any = None, limit: Any = 50, cursor: Any = None
    ) -> dict[str, Any]:
        """Cases newest first, below `cursor` (the `next_cursor` of the previous page); `status`
        is a phase, or `open` for every phase but closed. Each case is a summary; at most
        `MAX_SCAN` case ids are examined per call."""
        if status is not None and status not in STATUSES:
            raise InvalidParams(f"status must be one of {', '.join(STATUSES)}")
        limit = params.limit(limit)
        state = self.chain.state()
        ids = params.scan_range(cursor, c.court(state).next_id)
        out = []
        last = None
        for case_id in ids:
            last = case_id
            found = c.case(state, case_id)
            if found.is_empty() or not matches(found, status):
                continue
            out.append(case_summary(found))
            if len(out) == limit:
                break
        more = last is not None and last > 1
        return {"cases": out, "next_cursor": last if more else None}


def matches(found: c.Case, status: str | None) -> bool:
    if status is None:
        return True
    if status == "open":
        return found.phase != c.CLOSED
    return c.PHASE_NAMES[found.phase] == status


def case_summary(found: c.Case) -> dict[str, Any]:
    return {
        "id": found.id,
        "phase": c.PHASE_NAMES[found.phase],
        "accuser": to_checksum_address(found.accuser),
        "accused": to_checksum_address(found.accused),
        "block_number": found.block_number,
        "block_hash": hex0x(found.block_hash),
        "filed_at": found.filed_at,
        "stake": str(found.stake),
        "verdict": c.VOTE_NAMES[found.verdict],
        "closed_at": found.closed_at or None,
    }


def phase_ends(found: c.Case) -> int | None:
    """The last block of the current phase (a reveal phase may close earlier)."""
    return {
        c.REVIEW: found.draw_at,
        c.COMMIT: found.commit_ends,
        c.REVEAL: found.reveal_ends,
    }.get(found.phase)


def case_json(found: c.Case, head: int) -> dict[str, Any]:
    return {
        **case_summary(found),
        "head": head,
        "txs": [hex0x(h) for h in found.txs],
        "phase_ends": phase_ends(found),
        "draw_at": found.draw_at,
        "commit_ends": found.commit_ends or None,
        "reveal_ends": found.reveal_ends or None,
        "mix": hex0x(found.mix) if found.mix else None,
        "mix_epoch": found.mix_epoch if found.mix else None,
        "jurors": [juror_json(found, j) for j in found.jurors],
        "commits": sum(j.committed for j in found.jurors),
        "reveals": sum(1 for j in found.jurors if j.vote),
        "tally": {
            "guilty_weight": str(found.guilty_weight),
            "not_guilty_weight": str(found.not_guilty_weight),
        },
        "terms": {
            "jury_size": found.jury_size,
            "juror_reward": str(found.juror_reward),
            "flagger_reward": str(found.flagger_reward),
            "censorship_slash_ppm": found.slash_ppm,
            "juror_absent_penalty": str(found.absent_penalty),
            "protection_blocks": found.protection_blocks,
        },
        "payouts": {
            "slashed": str(found.slashed),
            "accuser_returned": str(found.returned),
            "flagger_reward": str(found.flagger_paid),
            "jurors": str(sum(j.payout for j in found.jurors)),
            "penalties": str(sum(j.penalty for j in found.jurors)),
            "burned": str(found.burned),
        }
        if found.phase == c.CLOSED
        else None,
    }


def juror_json(found: c.Case, juror: c.Juror) -> dict[str, Any]:
    closed = found.phase == c.CLOSED
    return {
        "address": to_checksum_address(juror.address),
        "rep": str(juror.rep),
        "weight": str(juror.weight),
        "committed": bool(juror.committed),
        "vote": c.VOTE_NAMES[juror.vote],
        "payout": str(juror.payout) if closed else None,
        "penalty": str(juror.penalty) if closed else None,
    }
