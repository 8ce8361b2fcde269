"""Writing a snapshot: the state after a finalized canonical block, from a consistent view of the
database.

The head state is read from a database snapshot (so a running node may keep importing blocks);
the entries changed since the snapshot block read their values then from the blocks' undo
journals, as `porchain.state.past` does. Two passes over the same view: the first counts the
entries and recomputes the lattice hash (a snapshot whose root is not its block's is never
written), the second writes them.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from porchain.chain import Chain
from porchain.db import schema
from porchain.db.abc import Database
from porchain.errors import PorchainError
from porchain.snapshot.format import (
    MAX_KEY_BYTES,
    SnapshotError,
    SnapshotHeader,
    SnapshotPreamble,
    encode_entry,
    entry_size,
)
from porchain.state.lthash import COMMITMENT_VERSION, LtHash, sum_entries
from porchain.state.past import PAST_STATE_BLOCKS, changed_since
from porchain.state.state import State
from porchain.types.blocks import Block

CHUNK = 4096  # entries hashed (and written) at a time
Progress = Callable[[int], None]  # called with the number of entries just done


def state_entries(view: Database, number: int) -> Iterator[tuple[bytes, bytes]]:
    """(state key, value) of every entry of the state after canonical block `number`, in key
    order, read from `view` (a database snapshot)."""
    skip = len(schema.STATE_PREFIX)
    old = changed_since(view, number, PAST_STATE_BLOCKS)
    revived = sorted((key, value) for key, value in old.items() if value is not None)
    current = view.iterate(schema.STATE_PREFIX)
    for key, value in heapq.merge(current, ((k, v) for k, v in revived if view.get(k) is None)):
        value = old.get(key, value)  # its value then, if it changed since
        if value is not None:
            yield key[skip:], value


def chunks(entries: Iterator[tuple[bytes, bytes]]) -> Iterator[list[tuple[bytes, bytes]]]:
    while chunk := list(islice(entries, CHUNK)):
        yield chunk


def snapshot_block(chain: Chain, at: int | None) -> Block:
    """The block a snapshot is taken at: `at`, or the finalized block; it must be final."""
    number = chain.checkpoint.number if at is None else at
    if number > chain.checkpoint.number:
        raise SnapshotError(
            f"block #{number} is not final yet (finalized #{chain.checkpoint.number}): a "
            "snapshot is of a final state"
        )
    block = chain.get_block_by_number(number)
    if block is None:
        raise SnapshotError(f"this node holds no block #{number}")
    return block


def write_snapshot(
    chain: Chain, out: Path, *, at: int | None = None, progress: Progress | None = None
) -> SnapshotHeader:
    """Write the state after finalized block `at` (default: the finalized block) to `out`
    (through a temporary file, renamed into place when complete)."""
    view = chain.db.snapshot()
    try:
        block = snapshot_block(Chain(view, chain.rules), at)  # the chain as the view reads it
        lthash, count, size = LtHash(), 0, 0
        for chunk in chunks(state_entries(view, block.number)):
            lthash.lanes = lthash.lanes + sum_entries(chunk)
            count += len(chunk)
            size += sum(entry_size(key, value) for key, value in chunk)
            if any(len(key) > MAX_KEY_BYTES for key, _ in chunk):
                raise SnapshotError("a state key is over the snapshot format's limit")
        if lthash.root() != block.header.state_root:
            raise PorchainError(
                f"the state read for block #{block.number} does not give its state root: "
                "the database is damaged (`porchain db verify`)"
            )
        header = SnapshotHeader(
            chain_id=State(view).chain.chain_id,
            genesis_hash=chain.genesis_hash,
            number=block.number,
            block_hash=block.hash,
            state_root=block.header.state_root,
            entry_count=count,
            entries_bytes=size,
            commitment_version=COMMITMENT_VERSION,
            block=block.encode(),
        )
        tmp = out.with_name(out.name + ".tmp")
        try:
            with tmp.open("wb") as sink:
                sink.write(SnapshotPreamble(header).encode())
                for chunk in chunks(state_entries(view, block.number)):
                    sink.write(b"".join(encode_entry(key, value) for key, value in chunk))
                    if progress is not None:
                        progress(len(chunk))
                sink.flush()
                os.fsync(sink.fileno())
            tmp.replace(out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise SnapshotError(f"cannot write the snapshot to {out}: {exc.strerror}") from None
        return header
    finally:
        view.close()
