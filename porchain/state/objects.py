"""The objects the state map holds, each with its RLP encoding.

Every state value is a mutable dataclass read through `State`, changed in place by the rules
(as the consensus specs do), and re-encoded when the block commits. An object whose fields are
all zero is absent from the state: `is_empty` says so and the entry is deleted.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Self

from porchain.errors import DecodeError
from porchain.types.codec import (
    decode_fixed,
    decode_list,
    decode_uint,
    encode_uint,
    rlp_decode,
    rlp_encode,
)


class StateObject(ABC):
    """Interface of state values: `encode`, `decode`, `is_empty`."""

    @abstractmethod
    def encode(self) -> bytes: ...

    @classmethod
    @abstractmethod
    def decode(cls, data: bytes) -> Self: ...

    def is_empty(self) -> bool:
        return False


class UintRecord(StateObject):
    """A dataclass of non-negative integers, encoded as an RLP list in field order."""

    IGNORED_FOR_EMPTINESS: ClassVar[frozenset[str]] = frozenset()

    def encode(self) -> bytes:
        return rlp_encode([encode_uint(getattr(self, name)) for name in _field_names(type(self))])

    @classmethod
    def decode(cls, data: bytes) -> Self:
        names = _field_names(cls)
        items = decode_list(rlp_decode(data, cls.__name__), len(names), cls.__name__)
        return cls(*[decode_uint(item, name, 64) for name, item in zip(names, items, strict=True)])

    def is_empty(self) -> bool:
        return not any(
            getattr(self, name)
            for name in _field_names(type(self))
            if name not in self.IGNORED_FOR_EMPTINESS
        )


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@dataclass(slots=True)
class Account(UintRecord):
    """An account: `$`, the REP it owns wherever it sits, gREP, and salary bookkeeping.

    `rep_staked` is REP held by open pools on the account's behalf; `rep_staked_encumbered` is
    the part of it that came from the ASC and still counts as availability (it returns there).
    `rep_index` and `grep_index` are the salary indexes at the account's last settlement
    (the "reward per token paid" of staking contracts).
    """

    nonce: int = 0
    balance: int = 0
    rep: int = 0
    rep_encumbered: int = 0
    rep_pending: int = 0
    rep_staked: int = 0
    rep_staked_encumbered: int = 0
    grep: int = 0
    grep_staked: int = 0
    rep_index: int = 0
    grep_index: int = 0

    IGNORED_FOR_EMPTINESS: ClassVar[frozenset[str]] = frozenset({"rep_index", "grep_index"})

    @property
    def rep_weight(self) -> int:
        """All REP the account owns: free, encumbered, pending release and staked."""
        return self.rep + self.rep_encumbered + self.rep_pending + self.rep_staked

    @property
    def asc_weight(self) -> int:
        """Encumbered REP, including the part staked in open pools (still at risk)."""
        return self.rep_encumbered + self.rep_staked_encumbered

    @property
    def grep_weight(self) -> int:
        return self.grep + self.grep_staked


@dataclass(slots=True)
class Supply(UintRecord):
    """Totals of each token in existence, and what was burned (sent to the incinerator)."""

    dollars: int = 0
    rep: int = 0
    grep: int = 0
    dollars_burned: int = 0
    rep_burned: int = 0
    grep_burned: int = 0


@dataclass(slots=True)
class Salary(UintRecord):
    """Cumulative `$` paid per unit of REP and of gREP (scaled), and the `$` reserved for them."""

    rep_index: int = 0
    grep_index: int = 0
    reserve: int = 0


@dataclass(slots=True)
class ChainInfo(UintRecord):
    """Chain identity, the position of the latest block applied to this state, and the
    highest block whose validation pool accepted it (final, with all its ancestors)."""

    chain_id: int = 0
    genesis_time_ms: int = 0
    number: int = 0
    slot: int = 0
    finalized: int = 0


@dataclass(slots=True)
class ActiveWsc(UintRecord):
    wsc_id: int = 0


@dataclass(slots=True)
class WscRecord(StateObject):
    """A WSC: its parameters (canonical JSON) and the block height it became active at."""

    params_json: bytes = b""
    activated_at: int = 0

    def encode(self) -> bytes:
        return rlp_encode([self.params_json, encode_uint(self.activated_at)])

    @classmethod
    def decode(cls, data: bytes) -> Self:
        items = decode_list(rlp_decode(data, "WscRecord"), 2, "WscRecord")
        if not isinstance(items[0], bytes):
            raise DecodeError("WscRecord parameters must be bytes")
        return cls(items[0], decode_uint(items[1], "activated_at", 8))

    def is_empty(self) -> bool:
        return not self.params_json


@dataclass(slots=True)
class Beacon(StateObject):
    """The random beacon mix and the ASC snapshot producers are drawn from.

    `snapshot` holds (address, weight) pairs sorted by address, weight > 0.
    """

    mix: bytes = b"\x00" * 32
    snapshot: list[tuple[bytes, int]] = field(default_factory=list)

    def encode(self) -> bytes:
        return rlp_encode([self.mix, [[a, encode_uint(w)] for a, w in self.snapshot]])

    @classmethod
    def decode(cls, data: bytes) -> Self:
        items = decode_list(rlp_decode(data, "Beacon"), 2, "Beacon")
        pairs: list[Any] = decode_list(items[1], None, "Beacon snapshot")
        snapshot = []
        for pair in pairs:
            address, weight = decode_list(pair, 2, "snapshot entry")
            snapshot.append((decode_fixed(address, 20, "address"), decode_uint(weight, "weight")))
        return cls(decode_fixed(items[0], 32, "mix"), snapshot)
