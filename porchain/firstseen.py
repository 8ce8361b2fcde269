"""The first-seen log: when this node first saw each transaction (PROTOCOL section 9).

It is the evidence a node judges censorship by, now (its automatic votes) and later (its jurors),
so it is kept in the database across restarts. Records are buffered and written in one batch
per block, so admitting a transaction costs no disk write; a crash loses at most the records of
the current slot, for transactions that were then still pending.
"""

from __future__ import annotations

from porchain.db import schema
from porchain.db.abc import Database


class FirstSeenLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: dict[bytes, int] = {}

    def record(self, tx_hash: bytes, time_ms: int) -> None:
        """Remember `time_ms` unless the transaction was seen before."""
        if self.get(tx_hash) is None:
            self._pending[tx_hash] = time_ms

    def get(self, tx_hash: bytes) -> int | None:
        if tx_hash in self._pending:
            return self._pending[tx_hash]
        raw = self.db.get(schema.first_seen_key(tx_hash))
        return None if raw is None else int.from_bytes(raw, "big")

    def flush(self) -> None:
        if not self._pending:
            return
        with self.db.atomic_batch() as batch:
            for tx_hash, time_ms in self._pending.items():
                batch.put(schema.first_seen_key(tx_hash), time_ms.to_bytes(8, "big"))
        self._pending.clear()
