"""The first-seen log: when this node first saw each transaction (PROTOCOL section 9).

It is the evidence a node judges censorship by, now (its automatic votes) and later (its jurors),
so it is kept in the database across restarts. Records are buffered and written in one batch
per block, so admitting a transaction costs no disk write; a crash loses at most the records of
the current slot, for transactions that were then still pending.

It is bounded (issue 10): a record is kept while its transaction is pending and for
`first_seen_retention_ms` after it was last seen pending, then pruned. Each record holds its
first-seen time and the time it is kept from, also written as a time-ordered index key, so
pruning reads only the oldest index entries, at most `MAX_EXAMINED_PER_FLUSH` per flush, in the
flush's own batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Container

from porchain.db import schema
from porchain.db.abc import Database, WriteBatch
from porchain.params import WSCParams

MAX_BUFFERED = 1024  # records held in memory; one more flushes them at once (a flood)
MAX_EXAMINED_PER_FLUSH = 2 * MAX_BUFFERED  # index entries read per flush: pruning outpaces writes


def first_seen_retention_ms(params: WSCParams) -> int:
    """How long a record outlives its transaction's last pending moment: as long as a rule may
    still judge a block whose slot began while the transaction was pending. The node votes on a
    block at most `block_pool_duration` slots old (`Node._recent`; its own in its own slot), by
    what it had seen `censor_grace_ms` before that slot began; a juror judges a block up to
    `accuse_window + review_blocks + commit_blocks` blocks old (each block takes a slot at
    least; its verdict on the block, kept longer, is what it judges by first)."""
    jury_blocks = params.accuse_window + params.review_blocks + params.commit_blocks
    blocks = max(params.block_pool_duration, jury_blocks) + 1
    return blocks * params.slot_ms + params.censor_grace_ms


def _encode(first_seen_ms: int, kept_from_ms: int) -> bytes:
    return first_seen_ms.to_bytes(8, "big") + kept_from_ms.to_bytes(8, "big")


def _decode(raw: bytes) -> tuple[int, int | None]:
    """(first seen, kept from); a record written before the index (8 bytes) is kept from None."""
    kept_from = int.from_bytes(raw[8:16], "big") if len(raw) == 16 else None
    return int.from_bytes(raw[:8], "big"), kept_from


class FirstSeenLog:
    def __init__(
        self, db: Database, pending: Container[bytes], retention_ms: Callable[[], int]
    ) -> None:
        self.db = db
        self.pending = pending  # the mempool: its transactions' records are never pruned
        self.retention_ms = retention_ms
        self._buffered: dict[bytes, int] = {}
        # written records of transactions seen pending since the last flush: (first seen, kept
        # from); when one leaves the mempool, its record is kept from that flush on
        self._tracked: dict[bytes, tuple[int, int]] = {}
        self._now_ms = 0

    def record(self, tx_hash: bytes, time_ms: int) -> None:
        """Remember `time_ms` unless the transaction was seen before; it is pending from now."""
        if tx_hash in self._buffered or tx_hash in self._tracked:
            return
        raw = self.db.get(schema.first_seen_key(tx_hash))
        if raw is None:
            self._buffered[tx_hash] = time_ms
            if len(self._buffered) > MAX_BUFFERED:
                self.flush(time_ms)
            return
        first_seen_ms, kept_from = _decode(raw)
        if kept_from is not None:
            self._tracked[tx_hash] = (first_seen_ms, kept_from)

    def get(self, tx_hash: bytes) -> int | None:
        if tx_hash in self._buffered:
            return self._buffered[tx_hash]
        raw = self.db.get(schema.first_seen_key(tx_hash))
        return None if raw is None else _decode(raw)[0]

    def flush(self, now_ms: int, *, stopping: bool = False) -> None:
        """One batch: prune what expired, write the buffered records, and keep from `now_ms`
        the records of transactions that left the mempool (of all, when `stopping`)."""
        now_ms = self._now_ms = max(self._now_ms, now_ms)
        tracked = dict(self._tracked)  # committed only with the batch
        with self.db.atomic_batch() as batch:
            self._prune(batch, tracked, now_ms)
            for tx_hash, time_ms in self._buffered.items():
                _put(batch, tx_hash, time_ms, time_ms)
                tracked[tx_hash] = (time_ms, time_ms)
            for tx_hash in [h for h in tracked if stopping or h not in self.pending]:
                _keep_from(batch, tracked.pop(tx_hash), tx_hash, now_ms)
        self._buffered.clear()
        self._tracked = tracked

    def _prune(self, batch: WriteBatch, tracked: dict[bytes, tuple[int, int]], now_ms: int) -> None:
        """Read the oldest index entries, at most `MAX_EXAMINED_PER_FLUSH`, up to the retention
        horizon: delete their records, except a pending transaction's, which is kept from now
        (so the long-pending never hold the queue up)."""
        expired_before_ms = now_ms - self.retention_ms()
        entries = self.db.iterate(schema.FIRST_SEEN_INDEX_PREFIX)
        for key, _ in itertools.islice(entries, MAX_EXAMINED_PER_FLUSH):
            kept_from, tx_hash = schema.split_first_seen_index_key(key)
            if kept_from >= expired_before_ms:
                return
            raw = self.db.get(schema.first_seen_key(tx_hash))
            first_seen_ms, stored = _decode(raw) if raw is not None else (0, None)
            if stored == kept_from and (tx_hash in tracked or tx_hash in self.pending):
                tracked[tx_hash] = _keep_from(batch, (first_seen_ms, kept_from), tx_hash, now_ms)
                continue
            batch.delete(key)
            if stored == kept_from:  # else the entry was stale, the record is someone else's
                batch.delete(schema.first_seen_key(tx_hash))


def _put(batch: WriteBatch, tx_hash: bytes, first_seen_ms: int, kept_from_ms: int) -> None:
    batch.put(schema.first_seen_key(tx_hash), _encode(first_seen_ms, kept_from_ms))
    batch.put(schema.first_seen_index_key(kept_from_ms, tx_hash), b"")


def _keep_from(
    batch: WriteBatch, record: tuple[int, int], tx_hash: bytes, now_ms: int
) -> tuple[int, int]:
    """Move a record's index entry to `now_ms`; return the record as it is now."""
    first_seen_ms, kept_from = record
    if kept_from != now_ms:
        batch.delete(schema.first_seen_index_key(kept_from, tx_hash))
        _put(batch, tx_hash, first_seen_ms, now_ms)
    return first_seen_ms, now_ms
