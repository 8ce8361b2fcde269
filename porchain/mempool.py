"""The mempool: validated pending transactions, ordered for the builder (PROTOCOL section 7).

Each sender's transactions are kept contiguous from its account nonce, so every one of them can
be included in order. Priority is fee per byte (ties: lower hash); a pending transaction is
replaced by one with the same (sender, nonce) paying at least `replace_bump_ppm` more; when full,
the lowest-paying tail transaction is evicted for a better one.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from porchain.consensus.modules import Rules
from porchain.consensus.transition import (
    check_funds,
    check_nonce,
    validate_transaction,
    validate_transaction_form,
)
from porchain.errors import InvalidTransaction, MempoolFull, NonceTaken
from porchain.state.state import State
from porchain.types.transactions import Transaction, TxKind
from porchain.units import format_amount

PROTECTED_KINDS = frozenset(
    {TxKind.VOTE, TxKind.COMMIT, TxKind.REVEAL, TxKind.JURY_COMMIT, TxKind.JURY_REVEAL}
)
MAX_TXS = 10_000
REPLACE_BUMP_PPM = 100_000  # a replacement pays at least 10% more


@dataclass(slots=True)
class PendingTx:
    tx: Transaction
    spends: int  # `$` beyond the fee


class Mempool:
    def __init__(
        self, rules: Rules, *, max_txs: int = MAX_TXS, replace_bump_ppm: int = REPLACE_BUMP_PPM
    ) -> None:
        self.rules = rules
        self.max_txs = max_txs
        self.replace_bump_ppm = replace_bump_ppm
        self._by_hash: dict[bytes, PendingTx] = {}
        self._by_sender: dict[bytes, dict[int, PendingTx]] = {}

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: bytes) -> Transaction | None:
        pending = self._by_hash.get(tx_hash)
        return None if pending is None else pending.tx

    def transactions(self) -> list[Transaction]:
        return list(self.candidates())

    def pending_count(self, sender: bytes) -> int:
        return len(self._by_sender.get(sender, ()))

    # -- admission -----------------------------------------------------------------------------

    def add(
        self,
        tx: Transaction,
        state: State,
        *,
        before_admit: Callable[[Transaction], None] | None = None,
        replace: bool = True,
    ) -> None:
        """Validate `tx` against the head `state` and the sender's pending transactions (one
        of the same nonce it replaces, or with `replace` false, is refused for: NonceTaken).

        `before_admit` (the local journal's write) runs once every check passed and before
        anything changes: if it raises, the mempool is left exactly as it was."""
        if tx.hash in self._by_hash:
            raise InvalidTransaction("transaction is already in the mempool")
        handler, payload = validate_transaction_form(state, tx, self.rules)
        queue = self._by_sender.get(tx.sender, {})
        next_nonce = state.account(tx.sender).nonce
        replaced = queue.get(tx.nonce)
        if replaced is not None:
            self._check_replacement(replaced.tx, tx, replace)
        elif tx.nonce < next_nonce:
            check_nonce(next_nonce, tx.nonce)
        else:  # the nonce right after the sender's pending transactions
            check_nonce(next_nonce + len(queue), tx.nonce)
        spends = handler.spends(state, payload)
        others = [p for n, p in queue.items() if n != tx.nonce]
        needed = tx.fee + spends + sum(p.tx.fee + p.spends for p in others)
        check_funds(state, tx.sender, needed, pending=len(others))
        handler.validate(state, tx, payload)
        evicted = None
        if replaced is None and len(self._by_hash) >= self.max_txs:
            evicted = self._eviction_for(tx)
        if before_admit is not None:
            before_admit(tx)
        if evicted is not None:
            self._drop(evicted)
        if replaced is not None:
            del self._by_hash[replaced.tx.hash]
        entry = PendingTx(tx, spends)
        self._by_sender.setdefault(tx.sender, {})[tx.nonce] = entry
        self._by_hash[tx.hash] = entry

    def _check_replacement(self, old: Transaction, new: Transaction, allowed: bool) -> None:
        if not allowed:
            raise NonceTaken(
                f"nonce {new.nonce} is taken by pending transaction 0x{old.hash.hex()[:16]}.."
            )
        floor = old.fee + old.fee * self.replace_bump_ppm // 1_000_000
        if new.fee < floor:
            raise InvalidTransaction(
                f"replacement fee too low: nonce {new.nonce} is pending with fee "
                f"{format_amount(old.fee)} $, a replacement must pay at least "
                f"{format_amount(floor)} $"
            )

    def _eviction_for(self, tx: Transaction) -> Transaction:
        """The cheapest sender tail, to drop to make room, if `tx` pays more per byte."""
        tails = [queue[max(queue)] for queue in self._by_sender.values()]
        cheapest = min(tails, key=lambda p: (p.tx.fee_per_byte, p.tx.hash))
        if cheapest.tx.fee_per_byte >= tx.fee_per_byte:
            raise MempoolFull(
                f"mempool is full ({self.max_txs} transactions); pay more than "
                f"{cheapest.tx.fee_per_byte:.1f} base units per byte to enter"
            )
        return cheapest.tx

    # -- removal -------------------------------------------------------------------------------

    def _drop(self, tx: Transaction) -> None:
        """Remove `tx` and the sender's later transactions, which can no longer be included."""
        queue = self._by_sender.get(tx.sender, {})
        for nonce in [n for n in queue if n >= tx.nonce]:
            del self._by_hash[queue.pop(nonce).tx.hash]
        if not queue:
            self._by_sender.pop(tx.sender, None)

    def remove(self, txs: Iterable[Transaction]) -> None:
        for tx in txs:
            if tx.hash in self._by_hash:
                self._drop(tx)

    def on_new_head(self, included: Iterable[Transaction], state: State) -> None:
        """Forget transactions a new block included, and any whose nonce the chain passed."""
        senders = set()
        for tx in included:
            pending = self._by_hash.pop(tx.hash, None)
            if pending is not None:
                self._by_sender[tx.sender].pop(tx.nonce, None)
            senders.add(tx.sender)
        for sender in senders & set(self._by_sender):
            queue = self._by_sender[sender]
            next_nonce = state.account(sender).nonce
            for nonce in [n for n in queue if n < next_nonce]:
                del self._by_hash[queue.pop(nonce).tx.hash]
            if not queue:
                del self._by_sender[sender]

    def readmit(self, reverted: Iterable[Transaction], state: State) -> list[Transaction]:
        """Take back the transactions of reverted blocks that still apply to the new head
        `state`, each sender's pending ones (numbered after them on the old branch) queued
        behind them again; drop those that no longer fit. Return the reverted ones taken back."""
        returning = {tx.hash: tx for tx in reverted}
        senders = {tx.sender for tx in returning.values()}
        queued = [tx for sender in senders for tx in self.pending_from(sender)]
        self.remove(queued)
        taken = []
        for tx in sorted([*returning.values(), *queued], key=lambda t: (t.sender, t.nonce)):
            try:
                self.add(tx, state)
            except InvalidTransaction:  # included again on the new branch, or now invalid
                continue
            if tx.hash in returning:
                taken.append(tx)
        return taken

    def revalidate(self, state: State) -> list[Transaction]:
        """Drop each sender's first pending transaction if it can no longer apply (a commit
        whose window passed, a vote on a closed pool...), with the ones queued behind it.
        Return what was dropped."""
        dropped = []
        for queue in list(self._by_sender.values()):
            first = queue[min(queue)].tx
            try:
                validate_transaction(state, first, self.rules)
            except InvalidTransaction:
                dropped += [p.tx for n, p in sorted(queue.items())]
                self._drop(first)
        return dropped

    # -- ordering ------------------------------------------------------------------------------

    def candidates(self) -> Iterator[Transaction]:
        """Pending transactions in the builder's order: protected kinds first (the votes,
        commits and reveals a producer must not leave out), then by fee per byte, ties to the
        lower hash; each sender's in nonce order."""
        queues = {s: [p.tx for _, p in sorted(q.items())] for s, q in self._by_sender.items()}
        heap = [(_priority(q[0]), s, 0) for s, q in queues.items()]
        heapq.heapify(heap)
        while heap:
            _, sender, index = heapq.heappop(heap)
            queue = queues[sender]
            yield queue[index]
            if index + 1 < len(queue):
                heapq.heappush(heap, (_priority(queue[index + 1]), sender, index + 1))

    def pending_from(self, sender: bytes) -> list[Transaction]:
        return [p.tx for _, p in sorted(self._by_sender.get(sender, {}).items())]


def _priority(tx: Transaction) -> tuple[int, float, bytes]:
    return (0 if tx.kind in PROTECTED_KINDS else 1, -tx.fee_per_byte, tx.hash)
