"""The local transaction journal: transactions sent to this node through its RPC, kept on disk
until the mempool lets them go.

A user who sent a transaction and got its hash back expects it to survive a restart of the node,
crash or not (geth keeps its local transactions in a journal for the same reason). Each one is
written when admitted; the journal forgets it once the mempool does (included, replaced, or
dropped as stale); a starting node admits the journaled ones again and forgets those the chain
has moved past. Transactions that only came from peers are not journaled: their senders' nodes
keep them.
"""

from __future__ import annotations

import logging
from collections.abc import Container

from porchain.db import schema
from porchain.db.abc import Database
from porchain.errors import DecodeError, InvalidTransaction
from porchain.types.transactions import Transaction

log = logging.getLogger(__name__)


class TxJournal:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._hashes: set[bytes] = set()

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._hashes

    def __len__(self) -> int:
        return len(self._hashes)

    def load(self) -> list[Transaction]:
        """Every journaled transaction, each sender's in nonce order. An entry that does not
        decode or whose signature does not recover (a damaged file) is dropped with a warning;
        the others are kept."""
        txs, damaged = [], []
        for key, raw in self.db.iterate(schema.LOCAL_TX_PREFIX):
            try:
                tx = Transaction.decode(raw)
                tx.sender  # noqa: B018 -- the sort below needs it
            except (DecodeError, InvalidTransaction) as exc:
                log.warning("dropping a damaged journaled transaction: %s", exc)
                damaged.append(key)
            else:
                txs.append(tx)
        if damaged:
            with self.db.atomic_batch() as batch:
                for key in damaged:
                    batch.delete(key)
        self._hashes = {tx.hash for tx in txs}
        return sorted(txs, key=lambda tx: (tx.sender, tx.nonce))

    def record(self, tx: Transaction) -> None:
        if tx.hash not in self._hashes:
            self.db.put(schema.local_tx_key(tx.hash), tx.encoded)
            self._hashes.add(tx.hash)

    def keep_only(self, pending: Container[bytes]) -> None:
        """Forget the journaled transactions that are no longer `pending`."""
        gone = [h for h in self._hashes if h not in pending]
        if not gone:
            return
        with self.db.atomic_batch() as batch:
            for tx_hash in gone:
                batch.delete(schema.local_tx_key(tx_hash))
        self._hashes.difference_update(gone)
