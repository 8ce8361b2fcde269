"""Where a method runs: in a worker thread on one snapshot of the chain (the default), or on
the event loop with the live node (`@on_loop`), so no query can delay block production.

A method off the loop gets a `ReadView` in place of the node: the chain as one consistent
snapshot (head, blocks and state all from the same moment, never half an imported block) and
the node's fixed facts. It has no mempool or network: those change on the loop, and a thread
must not read them half-changed. A method that needs them is marked `@on_loop`; it must be
cheap (no scans, no big blocks), and may return `Offload(fn)` to finish off the loop: `fn`
gets a chain snapshot taken at that very moment, consistent with what the method read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from porchain.chain import Chain
    from porchain.clock import SlotClock
    from porchain.node import Node

F = TypeVar("F", bound=Callable[..., Any])


def on_loop(method: F) -> F:
    """Run this RPC method on the event loop, with the live node."""
    method.rpc_on_loop = True  # type: ignore[attr-defined]
    return method


def runs_on_loop(method: Callable[..., Any]) -> bool:
    return getattr(method, "rpc_on_loop", False)


@dataclass(frozen=True)
class Offload:
    """The rest of an `@on_loop` method's work, to run in a worker on a chain snapshot."""

    finish: Callable[[Chain], Any]


class ClockAt:
    """The node's slot clock read once, on the loop, when the snapshot was taken (the live one
    reads trio's clock, which a worker thread cannot)."""

    def __init__(self, clock: SlotClock) -> None:
        self.genesis_time_ms, self.slot_ms = clock.genesis_time_ms, clock.slot_ms
        self._now_ms = clock.now_ms()

    def now_ms(self) -> int:
        return self._now_ms

    def current_slot(self) -> int:
        return max(0, (self._now_ms - self.genesis_time_ms) // self.slot_ms)

    def slot_start_ms(self, slot: int) -> int:
        return self.genesis_time_ms + slot * self.slot_ms


class ReadView:
    """The node as a method in a worker thread sees it."""

    def __init__(self, node: Node, chain: Chain, clock: ClockAt) -> None:
        self.chain = chain
        self.clock = clock
        self.config = node.config
        self.address = node.address
        self.rpc_url = node.rpc_url
