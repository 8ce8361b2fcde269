"""Offline consistency check of a data directory: canonical links and the state commitment.

The lattice hash is recomputed from every state entry in one pass and must equal both the stored
vector and the head's `state_root`: any torn write, lost entry or deterministic bug shows here.
"""

from __future__ import annotations

from dataclasses import dataclass

from porchain.chain import Chain
from porchain.db import schema
from porchain.errors import DatabaseError
from porchain.state.lthash import LtHash
from porchain.state.state import load_lthash


@dataclass(frozen=True)
class VerifyReport:
    head_number: int
    head_hash: bytes
    state_entries: int
    state_root: bytes


def verify_chain(chain: Chain) -> VerifyReport:
    db = chain.db
    parent_hash = None
    for block in chain.iter_canonical():
        if parent_hash is not None and block.header.parent_hash != parent_hash:
            raise DatabaseError(f"canonical block #{block.number} does not link to its parent")
        if block.number and not db.exists(schema.journal_key(block.hash)):
            raise DatabaseError(f"canonical block #{block.number} has no undo journal")
        parent_hash = block.hash
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
    return VerifyReport(chain.head.number, chain.head.hash, len(entries), recomputed.root())
