"""The state after an earlier canonical block, read through the blocks' undo journals.

Each canonical block keeps the values it overwrote (its journal). Reading those journals from
the head down to block N+1 gives every entry that changed since block N, with its value then;
the rest of the state is unchanged, so block N's state is the head state seen through them.
Nothing is written. The cost grows with the blocks walked, so a node answers for the last
`PAST_STATE_BLOCKS` blocks (geth, without an archive, keeps 128).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from porchain.db import schema
from porchain.errors import PorchainError
from porchain.state.state import Readable, State

if TYPE_CHECKING:
    from porchain.chain import Chain

PAST_STATE_BLOCKS = 1024


class StateUnavailable(PorchainError):
    """The state of a block this node does not serve: too old, or not on the chain yet."""


class _Before(Readable):
    """Reads the database as it was: entries changed since then answer their old value."""

    def __init__(self, db: Readable, old: dict[bytes, bytes | None]) -> None:
        self._db = db
        self._old = old  # database key -> value then (None: absent then)

    def get(self, key: bytes) -> bytes | None:
        return self._old[key] if key in self._old else self._db.get(key)


def state_at(chain: Chain, number: int) -> State:
    """The state after canonical block `number`, for reading (never committed)."""
    return State(past_reader(chain, number))


def past_reader(chain: Chain, number: int) -> Readable:
    """The database as it read after canonical block `number`."""
    head = chain.head.number
    if number > head:
        raise StateUnavailable(f"block #{number} is not on the chain yet (head #{head})")
    if head - number > PAST_STATE_BLOCKS:
        raise StateUnavailable(
            f"the state of block #{number} is {head - number} blocks old; this node serves "
            f"the state of the last {PAST_STATE_BLOCKS} blocks"
        )
    old: dict[bytes, bytes | None] = {}
    for n in range(head, number, -1):  # newest first: an older block's old value wins
        for key, value in chain.journal(n):
            old[schema.state_db_key(key)] = value
    return _Before(chain.db, old)
