"""An in-memory network with the `Transport` interface, for many nodes in one process.

Frames are delivered after `latency` seconds of trio time, or what `link_latency(local,
remote)` gives for the link when set (so with `trio.testing.MockClock` a simulated network costs
no wall time; a frame never overtakes an earlier one on its connection, as over TCP), dropped
with probability `loss` (seeded, reproducible), and never across a partition: connections
between the sides go silent and new ones are refused, as a real network partition looks to TCP
peers. Frames are limited as over TCP (the handshake's
limit until `authenticated`); they are in memory already, so no receive budget applies.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

import trio

from porchain.net.messages import HANDSHAKE_FRAME_BYTES
from porchain.net.transport import (
    MAX_FRAME_BYTES,
    Connection,
    ConnectionClosed,
    Handler,
    Transport,
    check_frame_size,
    split_address,
)

CHANNEL_FRAMES = 256  # bounded like a socket buffer: a slow reader slows its sender


class MemoryNetwork:
    def __init__(
        self,
        *,
        latency: float = 0.005,
        loss: float = 0.0,
        seed: int = 0,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        link_latency: Callable[[str, str], float] | None = None,
    ) -> None:
        self.latency = latency
        self.link_latency = link_latency
        self.loss = loss
        self.max_frame_bytes = max_frame_bytes
        self.random = random.Random(seed)
        self._listeners: dict[str, tuple[Handler, trio.Nursery]] = {}
        self._side: dict[str, int] | None = None

    def transport(self, address: str) -> MemoryTransport:
        """The transport of the node that listens on (and dials from) `address`."""
        return MemoryTransport(self, address)

    def partition(self, *groups: Iterable[str]) -> None:
        """Split the network: addresses in different groups can no longer reach each other."""
        self._side = {address: i for i, group in enumerate(groups) for address in group}

    def heal(self) -> None:
        self._side = None

    def reachable(self, a: str, b: str) -> bool:
        return self._side is None or self._side.get(a, -1) == self._side.get(b, -1)

    def delay(self, a: str, b: str) -> float:
        """Seconds a frame from `a` takes to reach `b`."""
        return self.latency if self.link_latency is None else self.link_latency(a, b)

    def dropped(self, a: str, b: str) -> bool:
        return not self.reachable(a, b) or (self.loss > 0 and self.random.random() < self.loss)


class MemoryConnection(Connection):
    def __init__(
        self,
        network: MemoryNetwork,
        local: str,
        remote: str,
        outgoing: trio.MemorySendChannel[tuple[float, bytes]],
        incoming: trio.MemoryReceiveChannel[tuple[float, bytes]],
    ) -> None:
        self.network = network
        self.local = local
        self.remote = remote
        self._outgoing = outgoing
        self._incoming = incoming
        self.max_frame_bytes = HANDSHAKE_FRAME_BYTES

    async def send(self, frame: bytes) -> None:
        if self.network.dropped(self.local, self.remote):
            await trio.lowlevel.checkpoint()
            return
        try:
            await self._outgoing.send(
                (trio.current_time() + self.network.delay(self.local, self.remote), frame)
            )
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ConnectionClosed("peer closed the connection") from None

    async def receive(self) -> bytes:
        try:
            due, frame = await self._incoming.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise ConnectionClosed("end of stream") from None
        await trio.sleep_until(due)
        check_frame_size(len(frame), self.max_frame_bytes)
        return frame

    def authenticated(self) -> None:
        self.max_frame_bytes = self.network.max_frame_bytes

    async def aclose(self) -> None:
        await self._outgoing.aclose()
        await self._incoming.aclose()


class MemoryTransport(Transport):
    def __init__(self, network: MemoryNetwork, address: str) -> None:
        self.network = network
        self.address = address

    async def listen(
        self, address: str, handler: Handler, *, task_status: trio.TaskStatus[str]
    ) -> None:
        async with trio.open_nursery() as nursery:
            self.network._listeners[address] = (handler, nursery)
            try:
                task_status.started(address)
                await trio.sleep_forever()
            finally:
                del self.network._listeners[address]

    async def connect(self, address: str) -> Connection:
        await trio.lowlevel.checkpoint()
        host, _ = split_address(address)
        host.encode("idna")  # a name the resolver refuses fails here as it does over TCP
        listener = self.network._listeners.get(address)
        if listener is None or not self.network.reachable(self.address, address):
            raise OSError(f"connection to {address} refused")
        a_to_b, b_from_a = trio.open_memory_channel[tuple[float, bytes]](CHANNEL_FRAMES)
        b_to_a, a_from_b = trio.open_memory_channel[tuple[float, bytes]](CHANNEL_FRAMES)
        handler, nursery = listener
        theirs = MemoryConnection(self.network, address, self.address, b_to_a, b_from_a)
        nursery.start_soon(handler, theirs)
        return MemoryConnection(self.network, self.address, address, a_to_b, a_from_b)
