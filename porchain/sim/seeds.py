"""Every random choice of a simulation, derived from its seed: the same seed, the same run.

Each purpose draws from its own stream (`derive(seed, "key", name)`), so adding a draw to one
part (the load, say) does not change what another part (the keys) draws.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey


def derive(seed: int, *purpose: str | int) -> bytes:
    """32 bytes for `purpose` under `seed`."""
    text = "|".join(str(part) for part in ("porchain-sim", seed, *purpose))
    return keccak(text.encode())


def rng(seed: int, *purpose: str | int) -> random.Random:
    return random.Random(int.from_bytes(derive(seed, *purpose), "big"))


def derived_int(seed: int, *purpose: str | int) -> int:
    return int.from_bytes(derive(seed, *purpose)[:8], "big")


def key(seed: int, name: str) -> PrivateKey:
    """The producer or account key named `name` in runs of `seed`."""
    return PrivateKey(derive(seed, "key", name))


def salts(seed: int, *purpose: str | int) -> Callable[[int], bytes]:
    """A salt source (epoch or case id -> 32 bytes), for BeaconDuty and the automatic jurors."""
    return lambda number: derive(seed, "salt", *purpose, number)
