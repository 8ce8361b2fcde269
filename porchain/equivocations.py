"""Equivocations: two different headers one producer signed for one slot (issue 11).

A producer may sign one block per slot. When the chain learns a second, different block signed
by the same producer for the same slot as a block it already holds, the pair of signed headers
is proof of the fault on its own: no state is needed to check it (`is_equivocation`, after
consensus-specs' `process_proposer_slashing`). The rival is looked for among the stored blocks
at the new block's height (canonical and side, in the database) and among the headers of the
latest `MAX_RECENT_HEADERS` stored blocks by (slot, producer), in memory, which catches two
blocks for one slot built on parents at different heights. The node keeps each pair as evidence
and tells its plugins (judicial governance turns it into an EVIDENCE transaction).

The store is node-local (never consensus): one record per (slot, producer), the first pair seen,
logged once at WARNING. It is bounded by count (`MAX_EQUIVOCATIONS`): past it the lowest slots
are pruned first, in the batch that records the new one. Only blocks the chain has stored reach
it, so each header's signature and form were checked on import; a stored record that no longer
decodes is skipped, never fatal.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from porchain.crypto.keys import to_checksum_address
from porchain.db import schema
from porchain.db.abc import Database, WriteBatch
from porchain.errors import DecodeError, InvalidBlock
from porchain.types.blocks import Block, Header
from porchain.types.records import Record

if TYPE_CHECKING:
    from porchain.chain import Chain

log = logging.getLogger(__name__)

MAX_EQUIVOCATIONS = 1024  # pairs kept; the lowest slots are pruned first past it
MAX_RECENT_HEADERS = 4096  # (slot, producer) -> header of the latest stored blocks, in memory


@dataclass(slots=True)
class Equivocation(Record):
    producer: bytes = b""
    slot: int = 0
    header_a: bytes = b""  # the encoded signed header this node held first
    header_b: bytes = b""  # the second one, different, same producer and slot
    seen_at_ms: int = 0  # when this node learned the second

    def headers(self) -> tuple[Header, Header]:
        return Header.decode(self.header_a), Header.decode(self.header_b)


def is_equivocation(a: Header, b: Header) -> bool:
    """Whether `a` and `b` are two different headers validly signed by one producer for one
    slot: slashable on their own."""
    if a.hash == b.hash or a.slot != b.slot or a.producer != b.producer:
        return False
    try:
        return a.recover_producer() == a.producer and b.recover_producer() == b.producer
    except InvalidBlock:  # a signature that does not even recover
        return False


def stored_rivals(chain: Chain, block: Block) -> Iterator[Header]:
    """The other stored blocks at `block`'s height (canonical and side; at most
    `MAX_SIDE_BLOCKS_PER_HEIGHT + 1`), as headers."""
    hashes = [chain.get_canonical_hash(block.number)]
    hashes += [key[-32:] for key, _ in chain.db.iterate(schema.side_height_prefix(block.number))]
    for block_hash in hashes:
        if block_hash is None or block_hash == block.hash:
            continue
        other = chain.get_block(block_hash)
        if other is not None:
            yield other.header


class EquivocationLog:
    """The equivocations this node has seen, in its database, bounded by count."""

    def __init__(self, db: Database, *, max_kept: int = MAX_EQUIVOCATIONS) -> None:
        self.db = db
        self.max_kept = max_kept
        self.count = sum(1 for _ in db.iterate(schema.EQUIVOCATION_PREFIX))
        self.recent: dict[tuple[int, bytes], Header] = {}  # insertion order: oldest first

    def observe(self, chain: Chain, block: Block, now_ms: int) -> Equivocation | None:
        """After `chain` stored `block`: record it with a stored block its producer also signed
        for its slot, if there is one and the pair is new; return the new record."""
        header = block.header
        earlier = self.recent.get((header.slot, header.producer))
        rivals = itertools.chain(stored_rivals(chain, block), [earlier] if earlier else [])
        found = next((other for other in rivals if is_equivocation(other, header)), None)
        if earlier is None:
            self._remember(header)
        return None if found is None else self.record(found, header, now_ms)

    def _remember(self, header: Header) -> None:
        self.recent[(header.slot, header.producer)] = header
        if len(self.recent) > MAX_RECENT_HEADERS:
            del self.recent[next(iter(self.recent))]

    def record(self, first: Header, second: Header, now_ms: int) -> Equivocation | None:
        """Keep the pair (`first` held before `second`) unless one is kept for its producer and
        slot already; log it once at WARNING."""
        key = schema.equivocation_key(first.slot, first.producer)
        if self.db.get(key) is not None:
            return None
        found = Equivocation(first.producer, first.slot, first.encode(), second.encode(), now_ms)
        with self.db.atomic_batch() as batch:
            pruned = self._prune(batch, self.count + 1 - self.max_kept)
            batch.put(key, found.encode())
        self.count += 1 - pruned
        log.warning(
            "equivocation: producer %s signed two blocks for slot %d: #%d 0x%s and #%d 0x%s "
            "(kept as evidence)",
            to_checksum_address(first.producer),
            first.slot,
            first.number,
            first.hash.hex()[:16],
            second.number,
            second.hash.hex()[:16],
        )
        return found

    def _prune(self, batch: WriteBatch, excess: int) -> int:
        """Delete the `excess` records of the lowest slots; return how many."""
        if excess <= 0:
            return 0
        oldest = itertools.islice(self.db.iterate(schema.EQUIVOCATION_PREFIX), excess)
        count = 0
        for key, _ in oldest:
            batch.delete(key)
            count += 1
        return count


def kept_equivocations(
    db: Database, producer: bytes | None = None, limit: int = 50
) -> list[Equivocation]:
    """The equivocations kept in `db`, highest slot first, of `producer` only if given."""
    found: list[Equivocation] = []
    for key, raw in db.iterate(schema.EQUIVOCATION_PREFIX, reverse=True):
        if len(found) >= limit:
            break
        if producer is not None and not key.endswith(producer):
            continue
        try:
            record = Equivocation.decode(raw)
            record.headers()
        except DecodeError as exc:
            log.debug("skipping unreadable equivocation record %r: %s", key, exc)
            continue
        found.append(record)
    return found
