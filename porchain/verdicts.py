"""Block verdicts: what this node judged about each block it made its head, and why (issue 11).

Each block that becomes the head is judged by the censorship rule (`porchain.censorship`) against
this node's own first-seen log, whether or not the node has a key to vote with: a follower's
judgement is evidence too. The verdict names the transactions judged censored with the time this
node first saw each, and the vote sent on it, or why none was. A block imported while catching
up is not judged (its verdict says "not recent"): the mempool then says nothing about what its
producer could have seen.

Verdicts are node-local (never consensus), kept in the database for the `VERDICT_BLOCKS` blocks
below the newest judged, and pruned as the chain advances, at most `MAX_PRUNED_PER_RECORD` per
verdict in the verdict's own batch, so the disk they take stays bounded.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from porchain.consensus.pool_codes import FOR
from porchain.crypto.keys import to_checksum_address
from porchain.db import schema
from porchain.db.abc import Database, WriteBatch
from porchain.state.past import PAST_STATE_BLOCKS
from porchain.types.blocks import Block
from porchain.types.records import Record
from porchain.types.transactions import Transaction, kind_name

log = logging.getLogger(__name__)

VERDICT_BLOCKS = PAST_STATE_BLOCKS  # 1024: verdicts are kept as long as past state is served
MAX_PRUNED_PER_RECORD = 16  # old verdicts deleted per new one: pruning outpaces recording
MAX_CENSORED_LISTED = 64  # censored transactions a verdict lists (all are counted)
MAX_CENSORED_LOGGED = 8  # of which the log line names

# a verdict
NOT_JUDGED, JUDGED_FOR, JUDGED_AGAINST = 0, 1, 2
VERDICT_NAMES = {NOT_JUDGED: None, JUDGED_FOR: "for", JUDGED_AGAINST: "against"}

# why a block was not judged, or no vote was sent on it
NOT_RECENT = "not recent"  # imported while catching up: not judged
NO_KEY = "no key"  # judged, but this node has no key to vote with
NO_POOL = "no pool"
POOL_CLOSED = "pool closed"
ALREADY_VOTED = "already voted"
NO_STAKE = "no stake"


@dataclass(slots=True)
class CensoredTx(Record):
    tx_hash: bytes = b""
    sender: bytes = b""
    kind: int = 0
    first_seen_ms: int = 0


@dataclass(slots=True)
class Verdict(Record):
    block_hash: bytes = b""
    number: int = 0
    slot: int = 0
    slot_start_ms: int = 0
    judged_at_ms: int = 0
    verdict: int = NOT_JUDGED
    censored_count: int = 0
    censored: list[CensoredTx] = field(default_factory=list)  # the first MAX_CENSORED_LISTED
    vote_stake: int = 0  # 0: no vote sent
    vote_side: int = 0  # AGAINST or FOR (porchain.consensus.pools), when a vote was sent
    reason: bytes = b""  # why not judged, or why no vote was sent

    @property
    def against(self) -> bool:
        return self.verdict == JUDGED_AGAINST


def judge(
    block: Block,
    slot_start_ms: int,
    now_ms: int,
    censored: Sequence[Transaction] | None,
    first_seen_ms: Callable[[bytes], int | None],
) -> Verdict:
    """The verdict on `block` (`censored` None: not judged), before any vote."""
    verdict = Verdict(block.hash, block.number, block.slot, slot_start_ms, now_ms)
    if censored is None:
        verdict.reason = NOT_RECENT.encode()
        return verdict
    verdict.verdict = JUDGED_AGAINST if censored else JUDGED_FOR
    verdict.censored_count = len(censored)
    verdict.censored = [
        CensoredTx(tx.hash, tx.sender, tx.kind, first_seen_ms(tx.hash) or 0)
        for tx in censored[:MAX_CENSORED_LISTED]
    ]
    return verdict


class VerdictLog:
    """The verdicts in the database: recorded one batch each, pruned behind the newest."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, verdict: Verdict) -> None:
        log_verdict(verdict)
        with self.db.atomic_batch() as batch:
            self._prune(batch, verdict.number - VERDICT_BLOCKS)
            batch.put(schema.verdict_key(verdict.number, verdict.block_hash), verdict.encode())

    def _prune(self, batch: WriteBatch, below: int) -> None:
        entries = self.db.iterate(schema.VERDICT_PREFIX)
        for key, _ in itertools.islice(entries, MAX_PRUNED_PER_RECORD):
            if schema.split_verdict_key(key)[0] >= below:
                return
            batch.delete(key)


def read_verdict(db: Database, number: int, block_hash: bytes) -> Verdict | None:
    raw = db.get(schema.verdict_key(number, block_hash))
    return None if raw is None else Verdict.decode(raw)


def log_verdict(verdict: Verdict) -> None:
    """One line per verdict: INFO when against, DEBUG otherwise."""
    shown = verdict.censored[:MAX_CENSORED_LOGGED]
    left_out = ", ".join(
        f"0x{c.tx_hash.hex()[:16]} ({kind_name(c.kind)}, seen "
        f"{verdict.slot_start_ms - c.first_seen_ms}ms before the slot)"
        for c in shown
    )
    more = verdict.censored_count - len(shown)
    log.log(
        logging.INFO if verdict.against else logging.DEBUG,
        "verdict %s block #%d slot=%d hash=0x%s vote=%s censored=%d%s%s",
        VERDICT_NAMES[verdict.verdict] or "none",
        verdict.number,
        verdict.slot,
        verdict.block_hash.hex()[:16],
        verdict.vote_stake or verdict.reason.decode(),
        verdict.censored_count,
        f": {left_out}" if shown else "",
        f" and {more} more" if more > 0 else "",
    )


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "block_hash": "0x" + verdict.block_hash.hex(),
        "number": verdict.number,
        "slot": verdict.slot,
        "slot_start_ms": verdict.slot_start_ms,
        "judged_at_ms": verdict.judged_at_ms,
        "verdict": VERDICT_NAMES[verdict.verdict],
        "censored_count": verdict.censored_count,
        "censored": [
            {
                "hash": "0x" + c.tx_hash.hex(),
                "from": to_checksum_address(c.sender),
                "kind": kind_name(c.kind),
                "first_seen_ms": c.first_seen_ms,
                "seen_before_slot_ms": verdict.slot_start_ms - c.first_seen_ms,
            }
            for c in verdict.censored
        ],
        "vote": _vote_json(verdict) if verdict.vote_stake else None,
        "reason": verdict.reason.decode() or None,
    }


def _vote_json(verdict: Verdict) -> dict[str, str]:
    side = "for" if verdict.vote_side == FOR else "against"
    return {"side": side, "stake": str(verdict.vote_stake)}
