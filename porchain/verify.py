"""Offline consistency check of a data directory: canonical links, the transaction index, the
first-seen log and the state commitment.

The lattice hash is recomputed from every state entry in one pass and must equal both the stored
vector and the head's `state_root`: any torn write, lost entry or deterministic bug shows here.
Every canonical transaction must have its index entry pointing back at it, and the index must
hold nothing else (counted, so memory stays flat however long the chain). Every first-seen record
must decode to a time no later than the check runs (a later one would have this node judge a
block censored that was not).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from porchain.chain import Chain, TxLocation
from porchain.db import schema
from porchain.errors import DatabaseError, DecodeError
from porchain.state.lthash import LtHash
from porchain.state.state import load_lthash
from porchain.types.blocks import compute_tx_root

TX_INDEX_PREFIX = schema.tx_location_key(b"")
FIRST_SEEN_PREFIX = schema.first_seen_key(b"")
MAX_CLOCK_AHEAD_MS = 24 * 3600 * 1000  # first-seen times later than now by more are damage


@dataclass(frozen=True)
class VerifyReport:
    head_number: int
    head_hash: bytes
    state_entries: int
    state_root: bytes
    transactions: int
    first_seen: int


def verify_chain(chain: Chain, *, now_ms: int | None = None) -> VerifyReport:
    db = chain.db
    parent_hash = None
    transactions = 0
    for block in chain.iter_canonical():
        if block.hash != chain.get_canonical_hash(block.number):
            raise DatabaseError(f"stored canonical block #{block.number} is not the block indexed")
        if compute_tx_root(block.transactions) != block.header.tx_root:
            raise DatabaseError(
                f"the stored transactions of canonical block #{block.number} do not match its "
                "tx_root"
            )
        if parent_hash is not None and block.header.parent_hash != parent_hash:
            raise DatabaseError(f"canonical block #{block.number} does not link to its parent")
        if block.number > chain.anchor:
            try:
                chain.journal(block.number)  # it exists and decodes
            except DecodeError as exc:
                raise DatabaseError(
                    f"the undo journal of canonical block #{block.number} is corrupt: {exc}"
                ) from None
        for index, tx in enumerate(block.transactions):
            if chain.get_tx_location(tx.hash) != TxLocation(block.hash, index):
                raise DatabaseError(
                    f"the transaction index entry of tx 0x{tx.hash.hex()} (#{block.number}, "
                    f"index {index}) is missing or points elsewhere"
                )
        transactions += len(block.transactions)
        parent_hash = block.hash
    indexed = sum(1 for _ in db.iterate(TX_INDEX_PREFIX))
    if indexed != transactions:
        raise DatabaseError(
            f"the transaction index holds {indexed} entries for {transactions} canonical "
            "transactions: it has entries for transactions on no canonical block"
        )
    first_seen = verify_first_seen(chain, now_ms if now_ms is not None else time.time_ns() // 10**6)
    entries = [
        (key[len(schema.STATE_PREFIX) :], value) for key, value in db.iterate(schema.STATE_PREFIX)
    ]
    recomputed = LtHash.of(entries)
    if recomputed != load_lthash(db):
        raise DatabaseError("stored lattice hash does not match the state entries")
    if recomputed.root() != chain.head.state_root:
        raise DatabaseError(
            f"state does not match the head's state_root at #{chain.head.number} "
            f"(0x{recomputed.root().hex()} != 0x{chain.head.state_root.hex()})"
        )
    return VerifyReport(
        chain.head.number,
        chain.head.hash,
        len(entries),
        recomputed.root(),
        transactions,
        first_seen,
    )


def verify_first_seen(chain: Chain, now_ms: int) -> int:
    """Check every first-seen record (one at a time); return how many there are."""
    count = 0
    for key, value in chain.db.iterate(FIRST_SEEN_PREFIX):
        tx_hash = key[len(FIRST_SEEN_PREFIX) :]
        if len(tx_hash) != 32 or len(value) not in (8, 16):  # 8: from before its index
            raise DatabaseError(f"malformed first-seen record {key!r}")
        if int.from_bytes(value[:8], "big") > now_ms + MAX_CLOCK_AHEAD_MS:
            raise DatabaseError(
                f"the first-seen time of tx 0x{tx_hash.hex()} is in the future: the record is "
                "damaged (or the clock is far behind)"
            )
        count += 1
    return count
