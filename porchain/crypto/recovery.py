"""Sender recovery on the machine's other cores.

One secp256k1 public-key recovery per transaction is the largest single cost of importing a
block, and each is independent of the others. A `RecoveryPool` sends the (signing hash,
signature) pairs of a block to worker processes; their answers go into this process's table of
known recoveries (`keys.remember_recovered`), which `Transaction.sender` reads first. The rule is
unchanged: the workers run the same function (`recover_address_uncached`), and a pair that does
not recover gets no answer, so its transaction meets the usual check and the usual error.

- `recover(txs)`: one block, shared between this process and the workers (a gossiped block).
- `ahead(blocks)`: a run of blocks (sync, a history file): the workers recover the next blocks'
  senders while this process executes the current one.

Small batches stay in this process (a round trip costs more than they do), so a node on a quiet
chain never starts a worker. A worker that dies costs only speed: its batch is recovered here.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from porchain.crypto.keys import InvalidSignature, is_recovered, recover_address_uncached
from porchain.crypto.keys import remember_recovered as remember
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction

log = logging.getLogger(__name__)

Pair = tuple[bytes, bytes]  # (signing hash, signature)

MIN_BATCH = 128  # unknown senders below which a block is recovered here
WAIT_SECONDS = 10.0  # for a worker's answer (a block's worth takes well under 1 s)
AHEAD = 2  # blocks whose recovery `ahead` sends before their turn (kept in the table)


def default_workers() -> int:
    """One worker per core this process may use, but one: that core runs the node."""
    return max(0, len(os.sched_getaffinity(0)) - 1)


def recover_pairs(pairs: Sequence[Pair]) -> list[bytes | None]:
    """In a worker: the address of each pair, None for a pair that does not recover."""
    out: list[bytes | None] = []
    for message_hash, signature in pairs:
        try:
            out.append(recover_address_uncached(message_hash, signature))
        except InvalidSignature:
            out.append(None)
    return out


def remember_all(pairs: Sequence[Pair], addresses: Sequence[bytes | None]) -> None:
    for pair, address in zip(pairs, addresses, strict=True):
        if address is not None:
            remember(*pair, address)


def unknown_pairs(txs: Iterable[Transaction]) -> list[Pair]:
    pairs = [(tx.signing_hash, tx.signature) for tx in txs]
    return [pair for pair in dict.fromkeys(pairs) if not is_recovered(*pair)]


class Batch:
    """Pairs sent to the workers; `wait()` records their answers."""

    def __init__(
        self,
        chunks: list[tuple[list[Pair], Future[list[bytes | None]]]],
        on_broken: Callable[[], None] = lambda: None,
    ) -> None:
        self._chunks = chunks
        self._on_broken = on_broken

    def wait(self) -> None:
        for pairs, future in self._chunks:
            try:
                remember_all(pairs, future.result(timeout=WAIT_SECONDS))
            except BrokenProcessPool as exc:
                log.warning("a recovery worker died (%r); recovering here", exc)
                self._on_broken()
            except (OSError, TimeoutError) as exc:
                log.warning("a recovery worker failed (%r); recovering here", exc)
        self._chunks = []


class RecoveryPool:
    def __init__(self, workers: int | None = None, *, min_batch: int = MIN_BATCH) -> None:
        self.workers = default_workers() if workers is None else workers
        self.min_batch = min_batch
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> RecoveryPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def start(self) -> None:
        """Start the workers now rather than at the first large block (a benchmark's warm-up)."""
        if self.workers:
            self._pool().submit(recover_pairs, []).result()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn: a fork would copy the node's threads and its trio loop mid-flight
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    def submit(self, pairs: list[Pair], parts: int) -> Batch:
        """Send `pairs` to the workers in `parts` chunks (none when there are too few)."""
        if len(pairs) < self.min_batch:
            return Batch([])
        size = -(-len(pairs) // parts)
        chunks = [pairs[i : i + size] for i in range(0, len(pairs), size)]
        for _ in range(2):  # a pool found broken is replaced once
            try:
                pool = self._pool()
                futures = [(chunk, pool.submit(recover_pairs, chunk)) for chunk in chunks]
                return Batch(futures, partial(self._discard, pool))
            except (BrokenProcessPool, RuntimeError, OSError) as exc:
                log.warning("recovery workers unavailable (%r); starting new ones", exc)
                self._discard(self._executor)
        return Batch([])

    def _discard(self, executor: ProcessPoolExecutor | None) -> None:
        """Forget `executor` if it is still ours (broken); the next batch starts new workers."""
        if executor is not None and executor is self._executor:
            executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def recover(self, txs: Sequence[Transaction]) -> None:
        """Recover the senders of `txs`, this process taking its share beside the workers."""
        pairs = unknown_pairs(txs)
        if not self.workers or len(pairs) < 2 * self.min_batch:
            return  # `Transaction.sender` recovers them here, as it would without a pool
        local = len(pairs) // (self.workers + 1)
        batch = self.submit(pairs[local:], self.workers)
        remember_all(pairs[:local], recover_pairs(pairs[:local]))
        batch.wait()

    def ahead(self, blocks: Iterable[Block], depth: int = AHEAD) -> Iterator[Block]:
        """Yield `blocks` in order, each once its senders are known, recovering up to `depth`
        blocks ahead in the workers while the caller imports the current one."""
        if not self.workers:
            yield from blocks
            return
        pending: deque[tuple[Block, Batch]] = deque()
        source = iter(blocks)
        for block in source:
            pending.append((block, self.submit(unknown_pairs(block.transactions), 1)))
            if len(pending) > depth:
                yield self._ready(pending.popleft())
        while pending:
            yield self._ready(pending.popleft())

    @staticmethod
    def _ready(item: tuple[Block, Batch]) -> Block:
        block, batch = item
        batch.wait()
        return block
