"""Transports: how frames travel between nodes. `TcpTransport` for real networks; the same
interface is implemented in memory (`porchain.net.memory`) for simulations on virtual time.

A frame is one message; over TCP it is preceded by its 4-byte big-endian length, checked against
the limit before the body is read, so a peer cannot make us buffer more than `max_frame_bytes`.
"""

from __future__ import annotations

import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

import trio

from porchain.errors import PeerMisbehaved

MAX_FRAME_BYTES = 16 * 2**20
READ_CHUNK = 65_536
MAX_HOST_CHARS = 253  # a DNS name, as resolvers accept it
HOST_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")

Handler = Callable[["Connection"], Awaitable[None]]


class ConnectionClosed(Exception):
    """The other side closed the connection (or it broke)."""


class Connection(ABC):
    remote: str

    @abstractmethod
    async def send(self, frame: bytes) -> None: ...

    @abstractmethod
    async def receive(self) -> bytes:
        """The next frame; ConnectionClosed at the end, PeerMisbehaved for an oversized one."""

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


class TcpConnection(Connection):
    def __init__(self, stream: trio.SocketStream, remote: str, max_frame_bytes: int) -> None:
        self.stream = stream
        self.remote = remote
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()

    async def send(self, frame: bytes) -> None:
        try:
            await self.stream.send_all(len(frame).to_bytes(4, "big") + frame)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise ConnectionClosed(str(exc)) from None

    async def receive(self) -> bytes:
        size = int.from_bytes(await self._read_exactly(4), "big")
        if size > self.max_frame_bytes:
            raise PeerMisbehaved(f"frame of {size} bytes, over the limit of {self.max_frame_bytes}")
        return await self._read_exactly(size)

    async def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            try:
                data = await self.stream.receive_some(READ_CHUNK)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise ConnectionClosed(str(exc)) from None
            if not data:
                raise ConnectionClosed("end of stream")
            self._buffer += data
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    async def aclose(self) -> None:
        await self.stream.aclose()


class TcpTransport(Transport):
    def __init__(self, *, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes

    async def listen(
        self, address: str, handler: Handler, *, task_status: trio.TaskStatus[str]
    ) -> None:
        host, port = split_address(address)

        async def serve(stream: trio.SocketStream) -> None:
            peer_host, peer_port = stream.socket.getpeername()[:2]
            await handler(TcpConnection(stream, f"{peer_host}:{peer_port}", self.max_frame_bytes))

        listeners = await trio.open_tcp_listeners(port, host=host)
        bound_host, bound_port = listeners[0].socket.getsockname()[:2]
        await trio.serve_listeners(
            serve, listeners, task_status=_Relay(task_status, f"{bound_host}:{bound_port}")
        )

    async def connect(self, address: str) -> Connection:
        host, port = split_address(address)
        stream = await trio.open_tcp_stream(host, port)
        return TcpConnection(stream, address, self.max_frame_bytes)


class _Relay:
    """Reports our address when `serve_listeners` reports its listeners."""

    def __init__(self, task_status: trio.TaskStatus[str], address: str) -> None:
        self.task_status = task_status
        self.address = address

    def started(self, value: object = None) -> None:
        self.task_status.started(self.address)
