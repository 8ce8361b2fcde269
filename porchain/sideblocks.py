"""The stored blocks that are not on the canonical chain, and the bounds on them.

A side block is kept so that its branch can become canonical by a reorg; it costs disk until
then. Each one is marked under `schema.side_key` (by height, its size as the value); the chain
keeps their count and bytes in memory, counted from the marks at startup, and refuses a new side
block that would pass a bound (`SideBlocksFull`, not the sender's fault). Nothing is evicted for
it: a block fork choice may need is never dropped to make room. Side blocks at or below the
finalized height can never become canonical and are deleted as finality advances.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from porchain.db import schema
from porchain.db.abc import Database, WriteBatch
from porchain.errors import SideBlocksFull
from porchain.types.blocks import Block

MAX_SIDE_BLOCKS_PER_HEIGHT = 4  # competing blocks kept at one height besides the canonical one
MAX_SIDE_BLOCKS = 4096  # side blocks kept in all
MAX_SIDE_BLOCK_BYTES = 256 * 2**20  # their encoded sizes together (256 MiB)

_SIZE_BYTES = 4  # a side mark's value: the block's size (a block is at most 64 MiB)
_NUMBER_AT = len(schema.SIDE_PREFIX)


def side_number(key: bytes) -> int:
    """The height in a side mark's key."""
    return int.from_bytes(key[_NUMBER_AT : _NUMBER_AT + 8], "big")


class SideIndex:
    """The side marks, with their count and bytes; a change counts once its batch is written."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.count = self.bytes = 0
        for _, value in db.iterate(schema.SIDE_PREFIX):
            self.count += 1
            self.bytes += int.from_bytes(value, "big")
        self._pending = (0, 0)

    @contextmanager
    def batch(self) -> Iterator[WriteBatch]:
        """An atomic batch of the database; the marks it adds or removes count when it is."""
        self._pending = (0, 0)
        with self.db.atomic_batch() as batch:
            yield batch
        count, size = self._pending
        self.count, self.bytes = self.count + count, self.bytes + size

    def add(self, batch: WriteBatch, block: Block) -> None:
        size = block.size.to_bytes(_SIZE_BYTES, "big")
        batch.put(schema.side_key(block.number, block.hash), size)
        self._move(1, block.size)

    def remove(self, batch: WriteBatch, block: Block) -> None:
        """Unmark `block` if it is marked (it became canonical, or is deleted)."""
        key = schema.side_key(block.number, block.hash)
        if batch.get(key) is not None:
            batch.delete(key)
            self._move(-1, -block.size)

    def at_height(self, number: int) -> int:
        return sum(1 for _ in self.db.iterate(schema.side_height_prefix(number)))

    def at_or_below(self, number: int) -> list[bytes]:
        """The hashes of the side blocks at height `number` or lower, lowest first."""
        hashes = []
        for key, _ in self.db.iterate(schema.SIDE_PREFIX):
            if side_number(key) > number:
                break
            hashes.append(key[-32:])
        return hashes

    def check_room(self, block: Block) -> None:
        """Refuse a new side block over a bound; it may be stored once finality prunes."""
        label = f"side block #{block.number} 0x{block.hash.hex()[:16]}.."
        if self.at_height(block.number) >= MAX_SIDE_BLOCKS_PER_HEIGHT:
            raise SideBlocksFull(
                f"{label} refused: {MAX_SIDE_BLOCKS_PER_HEIGHT} side blocks are already kept at "
                f"height #{block.number}"
            )
        if self.count >= MAX_SIDE_BLOCKS or self.bytes + block.size > MAX_SIDE_BLOCK_BYTES:
            raise SideBlocksFull(
                f"{label} refused: {self.count} side blocks ({self.bytes} bytes) are kept, the "
                f"bounds are {MAX_SIDE_BLOCKS} blocks and {MAX_SIDE_BLOCK_BYTES} bytes until "
                "finality prunes them"
            )

    def _move(self, count: int, size: int) -> None:
        self._pending = (self._pending[0] + count, self._pending[1] + size)
