"""History files: canonical blocks exported to a file and imported elsewhere with full validation.

Format: the magic `PORHIST1`, the genesis hash (32 bytes), then one frame per block: a 4-byte
big-endian length and the block's RLP. Importing re-executes every block, so a file is only as
trusted as the rules that check it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from porchain.chain import Chain
from porchain.crypto.recovery import RecoveryPool
from porchain.errors import DecodeError, PorchainError
from porchain.params import MAX_BLOCK_BYTES
from porchain.types.blocks import Block

MAGIC = b"PORHIST1"
MAX_FRAME_BYTES = MAX_BLOCK_BYTES  # a frame is one block


class HistoryError(PorchainError):
    """A history file that is malformed or belongs to another chain."""


def export_blocks(chain: Chain, out: BinaryIO, start: int = 1, end: int | None = None) -> int:
    end = chain.head.number if end is None else min(end, chain.head.number)
    out.write(MAGIC + chain.genesis_hash)
    count = 0
    for block in chain.iter_canonical(start):
        if block.number > end:
            break
        raw = block.encode()
        out.write(len(raw).to_bytes(4, "big") + raw)
        count += 1
    return count


def read_blocks(source: BinaryIO, genesis_hash: bytes) -> Iterator[Block]:
    head = source.read(len(MAGIC) + 32)
    if head[: len(MAGIC)] != MAGIC:
        raise HistoryError("not a porchain history file (bad magic)")
    if head[len(MAGIC) :] != genesis_hash:
        raise HistoryError(
            f"history file is for another chain (genesis 0x{head[len(MAGIC) :].hex()[:16]}..)"
        )
    while prefix := source.read(4):
        if len(prefix) < 4:
            raise HistoryError("history file is truncated (partial frame length)")
        size = int.from_bytes(prefix, "big")
        if size > MAX_FRAME_BYTES:
            raise HistoryError(f"history frame of {size} bytes is over the limit")
        raw = source.read(size)
        if len(raw) < size:
            raise HistoryError("history file is truncated (partial block)")
        try:
            yield Block.decode(raw)
        except DecodeError as exc:
            raise HistoryError(f"history file holds a malformed block: {exc}") from None


def import_blocks(
    chain: Chain,
    blocks: Iterator[Block],
    *,
    now_ms: int | None = None,
    recovery: RecoveryPool | None = None,
) -> Iterator[Block]:
    """Import each block on top of the chain, yielding it once it is the head.

    Blocks the chain already has on its canonical branch are skipped, so an interrupted import
    can simply be run again. The blocks must be consecutive, so every block at or below the
    local head is checked before anything is written: a history that forks from the chain is
    refused with nothing imported. With `now_ms`, a block whose slot has not started is refused: a
    history is of the past, and such a block would leave the chain waiting for it. With
    `recovery`, the next blocks' senders are recovered by its workers meanwhile.
    """
    previous = None
    for block in blocks if recovery is None else recovery.ahead(blocks):
        if previous is not None and block.number != previous + 1:
            raise HistoryError(
                f"history file is not in order: block #{block.number} after #{previous}"
            )
        previous = block.number
        if block.number <= chain.head.number:
            check_known(chain, block)
            continue
        if block.header.parent_hash != chain.head.hash:
            raise HistoryError(f"history block #{block.number} does not follow the local head")
        chain.import_block(block, now_ms=now_ms)
        yield block


def check_known(chain: Chain, block: Block) -> None:
    """A history block at or below the local head must be the canonical block there. Below a
    snapshot's block, a block whose header the node has not fetched yet is skipped: the history
    is checked where it reaches the snapshot block."""
    held = chain.get_canonical_hash(block.number)
    if held == block.hash or (held is None and block.number < chain.anchor):
        return
    if block.number <= chain.checkpoint.number:
        raise HistoryError(
            f"history forks from the finalized chain at #{block.number} (this node's blocks are "
            f"final up to #{chain.checkpoint.number}): refused, nothing was imported"
        )
    raise HistoryError(f"history diverges from the local chain at #{block.number}")
