"""Producer selection: the REP-weighted draw of PROTOCOL section 6.

For slot s, `r = int(keccak(mix || s)) mod total_weight`, then a binary search over the cumulative
weights of the ASC snapshot, sorted by address.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate

from porchain.crypto.hashing import keccak
from porchain.state.state import State


class Draw:
    """Draws for one (mix, snapshot): cumulative weights computed once, each draw O(log n)."""

    __slots__ = ("_addresses", "_cumulative", "mix", "total")

    def __init__(self, mix: bytes, snapshot: Sequence[tuple[bytes, int]]) -> None:
        self.mix = mix
        self._addresses = [address for address, _ in snapshot]
        self._cumulative = list(accumulate(weight for _, weight in snapshot))
        self.total = self._cumulative[-1] if self._cumulative else 0

    def producer(self, slot: int) -> bytes | None:
        if self.total == 0:
            return None
        r = int.from_bytes(keccak(self.mix + slot.to_bytes(8, "big")), "big") % self.total
        return self._addresses[bisect_right(self._cumulative, r)]


@lru_cache(maxsize=8)
def _draw(mix: bytes, snapshot: tuple[tuple[bytes, int], ...]) -> Draw:
    return Draw(mix, snapshot)


def get_slot_producer(state: State, slot: int) -> bytes | None:
    """The producer scheduled for `slot`, or None when nobody is available."""
    beacon = state.beacon
    return _draw(beacon.mix, tuple(beacon.snapshot)).producer(slot)
