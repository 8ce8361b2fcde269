"""The lattice hash state commitment (LtHash, as in Solana's SIMD-0215).

Each state entry maps through the BLAKE3 extendable output of (key, value) to 1024 lanes of 16
bits, as in SIMD-0215 (commitment version 2; version 1 used SHAKE-128, 1.4 times slower, and
`docs/decisions.md` says why it changed); the state vector is the lane-wise sum modulo 2**16 of
all entry vectors. Adding or removing an entry is one vector
addition or subtraction, so a block costs O(changed entries) to commit, and a whole snapshot can be
checked in one pass. `state_root` is keccak256 of the vector.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from blake3 import blake3

from porchain.crypto.hashing import keccak

COMMITMENT_VERSION = 2  # 1: SHAKE-128 entry digests; 2: BLAKE3
LANES = 1024
LANE_DTYPE = np.dtype("<u2")
VECTOR_BYTES = LANES * LANE_DTYPE.itemsize


def _entry_digest(key: bytes, value: bytes) -> bytes:
    return blake3(len(key).to_bytes(2, "big") + key + value).digest(VECTOR_BYTES)


def sum_entries(entries: Iterable[tuple[bytes, bytes]]) -> np.ndarray:
    """The lane-wise sum of the entry vectors of `entries` (zero for none)."""
    digests = b"".join(_entry_digest(key, value) for key, value in entries)
    if not digests:
        return np.zeros(LANES, dtype=LANE_DTYPE)
    stacked = np.frombuffer(digests, dtype=LANE_DTYPE).reshape(-1, LANES)
    return stacked.sum(axis=0, dtype=LANE_DTYPE)


class LtHash:
    __slots__ = ("lanes",)

    def __init__(self, lanes: np.ndarray | None = None) -> None:
        self.lanes = np.zeros(LANES, dtype=LANE_DTYPE) if lanes is None else lanes.copy()

    @classmethod
    def from_bytes(cls, data: bytes) -> LtHash:
        if len(data) != VECTOR_BYTES:
            raise ValueError(f"a lattice hash is {VECTOR_BYTES} bytes, got {len(data)}")
        return cls(np.frombuffer(data, dtype=LANE_DTYPE))

    @classmethod
    def of(cls, entries: Iterable[tuple[bytes, bytes]]) -> LtHash:
        return cls(sum_entries(entries))

    def to_bytes(self) -> bytes:
        return self.lanes.tobytes()

    def copy(self) -> LtHash:
        return LtHash(self.lanes)

    def update(
        self, added: Iterable[tuple[bytes, bytes]], removed: Iterable[tuple[bytes, bytes]]
    ) -> None:
        self.lanes = self.lanes + sum_entries(added) - sum_entries(removed)

    def root(self) -> bytes:
        return keccak(self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LtHash) and bool(np.array_equal(self.lanes, other.lanes))

    def __repr__(self) -> str:
        return f"<LtHash {self.root().hex()[:8]}..>"
