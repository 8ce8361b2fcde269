"""Transports: how frames travel between nodes. `TcpTransport` for real networks; the same
interface is implemented in memory (`porchain.net.memory`) for simulations on virtual time.

A frame is one message; over TCP it is preceded by its 4-byte big-endian length, checked against
the limit before the body is read, so a peer cannot make us buffer more than that limit: until the
handshake authenticates the peer, what a HELLO or an AUTH can take (`HANDSHAKE_FRAME_BYTES`), then
`max_frame_bytes`. Each body is read only once its size is reserved from the node's
`ReceiveBudget`, into a buffer of exactly that size.
"""

from __future__ import annotations

import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

import trio

from porchain.errors import PeerMisbehaved
from porchain.net.messages import HANDSHAKE_FRAME_BYTES, MAX_HOST_CHARS
from porchain.params import MAX_BLOCK_BYTES

# A frame carries one block whole (a BLOCK, or a BLOCKS answer past MAX_BATCH_BYTES with one
# block): it holds the largest block any parameters allow, and the message around it.
FRAME_ENVELOPE_BYTES = 1024  # type byte, RLP list and string headers, a request id: < 40
MAX_FRAME_BYTES = MAX_BLOCK_BYTES + FRAME_ENVELOPE_BYTES
RECEIVE_BUDGET_BYTES = 64 * 2**20  # frame bodies buffered at once by all of a node's connections
SMALL_FRAME_BYTES = 2**20  # frames up to this size may use all of the budget, larger ones half
READ_CHUNK = 65_536
LENGTH_BYTES = 4
HOST_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")

Handler = Callable[["Connection"], Awaitable[None]]


class ConnectionClosed(Exception):
    """The other side closed the connection (or it broke)."""


class Connection(ABC):
    remote: str
    max_frame_bytes: int  # HANDSHAKE_FRAME_BYTES until `authenticated`

    @abstractmethod
    async def send(self, frame: bytes) -> None: ...

    def send_nowait(self, frame: bytes) -> bool:
        """Send now if that needs no waiting (False: not sent, use `send`)."""
        return False

    @abstractmethod
    async def receive(self) -> bytes:
        """The next frame; ConnectionClosed at the end, PeerMisbehaved for an oversized one."""

    @abstractmethod
    def authenticated(self) -> None:
        """The handshake passed: lift the frame limit from the handshake's to the protocol's."""

    @abstractmethod
    async def aclose(self) -> None: ...


class Transport(ABC):
    @abstractmethod
    async def listen(
        self, address: str, handler: Handler, *, task_status: trio.TaskStatus[str]
    ) -> None:
        """Accept connections on `address` ("host:port"), each served by `handler` until it
        returns; report the address actually bound."""

    @abstractmethod
    async def connect(self, address: str) -> Connection: ...


def check_frame_size(size: int, limit: int) -> None:
    if size > limit:
        raise PeerMisbehaved(f"frame of {size} bytes, over the limit of {limit}")


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"not a host:port address: {address!r}")
    return host, int(port)


def is_dialable(address: str) -> bool:
    """Whether a "host:port" a peer gave us is one we may dial: an IP address or a hostname of
    ASCII letters, digits, `-` and `_` in labels of 1 to 63 characters, and a port from 1.
    Anything else (other characters, an overlong label) would fail in the resolver, or worse."""
    try:
        host, port = split_address(address)
    except ValueError:
        return False
    if port == 0 or len(host) > MAX_HOST_CHARS:
        return False
    try:
        ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return all(HOST_LABEL.fullmatch(label) for label in host.split("."))
    return True


class ReceiveBudget:
    """The bytes of frame bodies a node's connections may buffer at once.

    A body is read only once its size is reserved; the reservation lasts until its connection
    asks for the next frame (the previous one is decoded and handled by then) or closes. When the
    budget lacks room the reader waits, so its socket stops being read and TCP slows the sender;
    the handshake and idle timeouts bound the wait. Frames over `small_frame_bytes` (sync
    batches, large blocks) may hold only half of the budget together, so the pings, statuses,
    transactions and blocks of the other peers still fit while a few peers send large frames.
    """

    def __init__(
        self, total: int = RECEIVE_BUDGET_BYTES, *, small_frame_bytes: int = SMALL_FRAME_BYTES
    ) -> None:
        self.total = total
        self.large_total = total // 2
        self.small_frame_bytes = small_frame_bytes
        self.used = 0
        self.large_used = 0
        self.peak = 0  # the most ever reserved at once
        self._released = trio.lowlevel.ParkingLot()

    def check_frame_limit(self, max_frame_bytes: int) -> None:
        if max_frame_bytes > self.large_total:
            raise ValueError(
                f"a receive budget of {self.total} bytes cannot hold a frame of "
                f"{max_frame_bytes} bytes in its half for large frames: raise the budget"
            )

    def _fits(self, size: int) -> bool:
        if self.used + size > self.total:
            return False
        return size <= self.small_frame_bytes or self.large_used + size <= self.large_total

    async def reserve(self, size: int) -> None:
        while not self._fits(size):
            await self._released.park()
        self.used += size
        if size > self.small_frame_bytes:
            self.large_used += size
        self.peak = max(self.peak, self.used)

    def release(self, size: int) -> None:
        self.used -= size
        if size > self.small_frame_bytes:
            self.large_used -= size
        self._released.unpark_all()


class TcpConnection(Connection):
    def __init__(self, stream: trio.SocketStream, remote: str, transport: TcpTransport) -> None:
        self.stream = stream
        self.remote = remote
        self.max_frame_bytes = HANDSHAKE_FRAME_BYTES
        self._transport = transport
        self._held = 0  # bytes of the last frame, reserved from the budget

    async def send(self, frame: bytes) -> None:
        try:
            await self.stream.send_all(len(frame).to_bytes(LENGTH_BYTES, "big") + frame)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise ConnectionClosed(str(exc)) from None

    async def receive(self) -> bytes:
        self._release()
        size = int.from_bytes(await self._read_exactly(LENGTH_BYTES), "big")
        check_frame_size(size, self.max_frame_bytes)
        await self._transport.budget.reserve(size)
        self._held = size
        return await self._read_exactly(size)

    def authenticated(self) -> None:
        self.max_frame_bytes = self._transport.max_frame_bytes

    async def _read_exactly(self, size: int) -> bytes:
        """Exactly `size` bytes, read into a buffer of that size (never more from the socket:
        what follows is the next frame, not yet reserved)."""
        buffer = bytearray(size)
        view = memoryview(buffer)
        filled = 0
        while filled < size:
            try:
                count = await self.stream.socket.recv_into(view[filled:], size - filled)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise ConnectionClosed(str(exc)) from None
            if not count:
                raise ConnectionClosed("end of stream")
            filled += count
        view.release()
        return bytes(buffer)

    def _release(self) -> None:
        self._transport.budget.release(self._held)
        self._held = 0

    async def aclose(self) -> None:
        self._release()
        await self.stream.aclose()


class TcpTransport(Transport):
    def __init__(
        self,
        *,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        receive_budget: int = RECEIVE_BUDGET_BYTES,
        small_frame_bytes: int = SMALL_FRAME_BYTES,
    ) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.budget = ReceiveBudget(receive_budget, small_frame_bytes=small_frame_bytes)
        self.budget.check_frame_limit(max_frame_bytes)

    async def listen(
        self, address: str, handler: Handler, *, task_status: trio.TaskStatus[str]
    ) -> None:
        host, port = split_address(address)

        async def serve(stream: trio.SocketStream) -> None:
            peer_host, peer_port = stream.socket.getpeername()[:2]
            await handler(TcpConnection(stream, f"{peer_host}:{peer_port}", self))

        listeners = await trio.open_tcp_listeners(port, host=host)
        bound_host, bound_port = listeners[0].socket.getsockname()[:2]
        await trio.serve_listeners(
            serve, listeners, task_status=_Relay(task_status, f"{bound_host}:{bound_port}")
        )

    async def connect(self, address: str) -> Connection:
        host, port = split_address(address)
        stream = await trio.open_tcp_stream(host, port)
        return TcpConnection(stream, address, self)


class _Relay:
    """Reports our address when `serve_listeners` reports its listeners."""

    def __init__(self, task_status: trio.TaskStatus[str], address: str) -> None:
        self.task_status = task_status
        self.address = address

    def started(self, value: object = None) -> None:
        self.task_status.started(self.address)
