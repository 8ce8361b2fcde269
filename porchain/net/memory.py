"""An in-memory network with the `Transport` interface, for many nodes in one process.

Frames are delivered after `latency` seconds of trio time, or what `link_latency(local,
remote)` gives for the link when set (so with `trio.testing.MockClock` a simulated network costs
no wall time; a frame never overtakes an earlier one on its connection, as over TCP), dropped
with probability `loss` (seeded, reproducible), and never across a partition: connections
between the sides go silent and new ones are refused, as a real network partition looks to TCP
peers. Frames are limited as over TCP (the handshake's
limit until `authenticated`); they are in memory already, so no receive budget applies.

Due times are on a grid of milliseconds (rounded up), and one timer for the whole network
(`_Deliveries`) wakes the readers whose first frame is due: a frame costs its reader one wakeup
and no timer of its own, and the frames due in the same tick cost the clock one step.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
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

CHANNEL_FRAMES = 256  # frames a link holds, like a socket buffer: a slow reader slows its sender
TICKS_PER_SECOND = 1000  # the grid of due times: milliseconds


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
        self.deliveries = _Deliveries()

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

    def due(self, a: str, b: str) -> float:
        """When a frame sent from `a` now reaches `b`: on the grid of ticks, rounded up."""
        ticks = (trio.current_time() + self.delay(a, b)) * TICKS_PER_SECOND
        return math.ceil(ticks - 1e-6) / TICKS_PER_SECOND  # - 1e-6: a due time on the grid stays

    def dropped(self, a: str, b: str) -> bool:
        return not self.reachable(a, b) or (self.loss > 0 and self.random.random() < self.loss)


class _Deliveries:
    """The network's one timer: at each due time, it wakes the readers whose first frame is due.

    It runs as a trio system task of the current run, started when first needed.
    """

    def __init__(self) -> None:
        self._links: dict[float, list[_Link]] = {}  # due time -> links to look at then
        self._times: list[float] = []  # a heap of the keys of _links
        self._timer: trio.CancelScope | None = None
        self._run_token: trio.lowlevel.TrioToken | None = None

    def wake_at(self, due: float, link: _Link) -> None:
        token = trio.lowlevel.current_trio_token()
        if token is not self._run_token:  # a new trio run: what the last one left is void
            self._links, self._times, self._timer = {}, [], None
            self._run_token = token
            trio.lowlevel.spawn_system_task(self._run, name="memory network deliveries")
        links = self._links.get(due)
        if links is not None:
            links.append(link)
            return
        self._links[due] = [link]
        heapq.heappush(self._times, due)
        if self._timer is not None and due < self._timer.deadline:
            self._timer.deadline = due

    async def _run(self) -> None:
        while True:
            now = trio.current_time()
            while self._times and self._times[0] <= now:
                for link in self._links.pop(heapq.heappop(self._times)):
                    link.wake_if_due(now)
            with trio.CancelScope(deadline=self._times[0] if self._times else math.inf) as timer:
                self._timer = timer
                await trio.sleep_forever()


class _Link:
    """One direction of a memory connection: frames in order, each with the time it is due."""

    def __init__(self, deliveries: _Deliveries) -> None:
        self.deliveries = deliveries
        self.frames: deque[tuple[float, bytes]] = deque()
        self.sender_closed = False  # what is queued is still delivered, then the end of stream
        self.receiver_closed = False  # sends fail
        self.reader: trio.lowlevel.Task | None = None  # waiting in `wait`
        self.space = trio.lowlevel.ParkingLot()

    def full(self) -> bool:
        return len(self.frames) >= CHANNEL_FRAMES

    def push(self, due: float, frame: bytes) -> None:
        if self.sender_closed or self.receiver_closed:
            raise ConnectionClosed("peer closed the connection")
        self.frames.append((due, frame))
        if self.reader is not None and len(self.frames) == 1:
            self.deliveries.wake_at(due, self)

    async def wait(self) -> None:
        """Until the first frame is due, or the link closes (or a spurious wakeup)."""
        if self.frames:
            self.deliveries.wake_at(self.frames[0][0], self)
        self.reader = trio.lowlevel.current_task()

        def abort(_: object) -> trio.lowlevel.Abort:
            self.reader = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def wake_if_due(self, now: float) -> None:
        if self.frames and self.frames[0][0] <= now:
            self._wake_reader()

    def close_sending(self) -> None:
        self.sender_closed = True
        self._wake_reader()

    def close_receiving(self) -> None:
        self.receiver_closed = True
        self.frames.clear()
        self.space.unpark_all()
        self._wake_reader()

    def _wake_reader(self) -> None:
        if self.reader is not None:
            trio.lowlevel.reschedule(self.reader)
            self.reader = None


class MemoryConnection(Connection):
    def __init__(
        self, network: MemoryNetwork, local: str, remote: str, outgoing: _Link, incoming: _Link
    ) -> None:
        self.network = network
        self.local = local
        self.remote = remote
        self._outgoing = outgoing
        self._incoming = incoming
        self.max_frame_bytes = HANDSHAKE_FRAME_BYTES

    async def send(self, frame: bytes) -> None:
        await trio.lowlevel.checkpoint()
        while self._outgoing.full() and not self._outgoing.receiver_closed:
            await self._outgoing.space.park()
        self._push(frame)

    def send_nowait(self, frame: bytes) -> bool:
        if self._outgoing.full() or self._outgoing.receiver_closed:
            return False
        self._push(frame)
        return True

    def _push(self, frame: bytes) -> None:
        if self.network.dropped(self.local, self.remote):
            return
        self._outgoing.push(self.network.due(self.local, self.remote), frame)

    async def receive(self) -> bytes:
        link = self._incoming
        while not (link.frames and link.frames[0][0] <= trio.current_time()):
            if link.receiver_closed or (link.sender_closed and not link.frames):
                await trio.lowlevel.checkpoint()
                raise ConnectionClosed("end of stream")
            await link.wait()
        _, frame = link.frames.popleft()
        if link.space:  # a sender waits for room
            link.space.unpark()
        check_frame_size(len(frame), self.max_frame_bytes)
        return frame

    def authenticated(self) -> None:
        self.max_frame_bytes = self.network.max_frame_bytes

    async def aclose(self) -> None:
        self._outgoing.close_sending()
        self._incoming.close_receiving()
        await trio.lowlevel.checkpoint()


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
        a_to_b, b_to_a = _Link(self.network.deliveries), _Link(self.network.deliveries)
        handler, nursery = listener
        nursery.start_soon(
            handler, MemoryConnection(self.network, address, self.address, b_to_a, a_to_b)
        )
        return MemoryConnection(self.network, self.address, address, a_to_b, b_to_a)
