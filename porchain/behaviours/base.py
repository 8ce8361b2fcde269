"""The honest behaviour, which every other one is composed on, and its typed parameters."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from porchain.crypto.keys import parse_address, to_checksum_address
from porchain.duties import VoteDecision
from porchain.errors import DecodeError
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction, TxKind

if TYPE_CHECKING:
    from porchain.net.peer import Peer
    from porchain.node import Node

Duty = tuple[int, list]  # (kind, payload) of a COMMIT, REVEAL or ENCUMBER the node sends
Txs = Iterable[Transaction]


class BehaviourError(ValueError):
    """An unknown behaviour, or an argument it does not take or cannot parse."""


@dataclass(frozen=True)
class ArgType:
    name: str  # as shown in errors and help
    parse: Callable[[str], Any]  # raises ValueError with a readable message
    show: Callable[[Any], Any] = lambda value: value  # to a JSON value (por_nodeInfo)


def _boolean(text: str) -> bool:
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if text.lower() not in words:
        raise ValueError(f"expected true or false, got {text!r}")
    return words[text.lower()]


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected an integer, got {text!r}") from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"expected a number from 0 to 1, got {text}")
    return value


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _address(text: str) -> bytes:
    try:
        return parse_address(text)
    except DecodeError as exc:
        raise ValueError(str(exc)) from None


def _addresses(text: str) -> frozenset[bytes]:
    return frozenset(_address(item) for item in _items(text))


def _kinds(text: str) -> frozenset[int]:
    kinds = set()
    for item in _items(text):
        if item.upper() not in TxKind.__members__:
            raise ValueError(f"unknown kind {item!r}: one of {', '.join(TxKind.__members__)}")
        kinds.add(int(TxKind[item.upper()]))
    return frozenset(kinds)


BOOL = ArgType("bool", _boolean)
INT = ArgType("int", _integer)
FRACTION = ArgType("number 0..1", _fraction)
ADDRESSES = ArgType(
    "addresses", _addresses, lambda value: sorted(to_checksum_address(a) for a in value)
)
KINDS = ArgType("kinds", _kinds, lambda value: sorted(TxKind(k).name for k in value))


@dataclass(frozen=True)
class Param:
    name: str
    type: ArgType
    default: Any
    help: str


def drawn(seed: int, slot: int, fraction: float) -> bool:
    """Whether `slot` is among the `fraction` of slots drawn for `seed`: reproducible, so a run
    can be replayed exactly (and independent of any other draw)."""
    return fraction >= 1.0 or random.Random(f"{seed}:{slot}").random() < fraction


def parse_args(cls: type[Behaviour], pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` strings into the values of `cls`'s parameters (defaults for the rest)."""
    params = {p.name: p for p in cls.params}
    values = {p.name: p.default for p in cls.params}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise BehaviourError(f"behaviour argument {pair!r} is not key=value")
        param = params.get(key.strip())
        if param is None:
            allowed = ", ".join(params) or "none"
            raise BehaviourError(f"{cls.name} takes no argument {key!r} (it takes: {allowed})")
        try:
            values[param.name] = param.type.parse(text.strip())
        except ValueError as exc:
            raise BehaviourError(f"{cls.name} {param.name} ({param.type.name}): {exc}") from None
    return values


class Behaviour:
    """Honest: every hook returns the node's own decision unchanged."""

    name: ClassVar[str] = "honest"
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        self.args = dict(parse_args(type(self), ())) | dict(args or {})

    def info(self) -> dict[str, Any]:
        """{name, args} as JSON values (por_nodeInfo)."""
        shown = {p.name: p.type.show(self.args[p.name]) for p in self.params}
        return {"name": self.name, "args": shown}

    def produces(self, node: Node, slot: int) -> bool:
        """Whether to build and send a block for `slot`, which our key is scheduled for."""
        return True

    def candidates(self, node: Node, slot: int, txs: Txs) -> Txs:
        """The transactions the builder may include in our block for `slot`, in its order."""
        return txs

    def judge(self, node: Node, block: Block) -> list[Transaction]:
        """The transactions `block` censored, as this node judges them."""
        return node.censored_in(block)

    def vote(self, node: Node, block: Block, decision: VoteDecision | None) -> VoteDecision | None:
        """The vote to send on `block`'s pool (None: none)."""
        return decision

    def duty(self, node: Node, slot: int, due: Duty | None) -> Duty | None:
        """The transaction the node sends on its own at `slot`, a COMMIT, REVEAL or ENCUMBER
        (None: none)."""
        return due

    def publish(self, node: Node, slot: int, block: Block) -> list[Block]:
        """The blocks to send for our `slot`, given the one the builder built and signed: the
        node imports (and so relays) `block` only if it is listed, and sends every other listed
        block to its peers (through `gossip_targets`) without importing it."""
        return [block]

    def gossip_targets(self, node: Node, peers: list[Peer], message: object) -> Iterable[Peer]:
        """The peers to send a gossiped block or transaction `message` to."""
        return peers
