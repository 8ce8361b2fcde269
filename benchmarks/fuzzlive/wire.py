"""Talking to the target as a stranger: fake peers with a real handshake, raw TCP
connections, single HTTP POSTs; and the tally of how each attempt ended."""

from __future__ import annotations

import json
import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from porchain.crypto.keys import PrivateKey
from porchain.errors import DecodeError, PorchainError
from porchain.net import messages as m
from porchain.net.peer import handshake, new_hello
from porchain.net.transport import Connection, ConnectionClosed, TcpTransport
from porchain.types.records import Record

HANDSHAKE_SECONDS = 5.0  # a fake peer's handshake (the node's own timeout is 5 s)
HOLD_SECONDS = 7.0  # how long an attack waits for the node to close it: over its 5 s handshake
ANSWER_SECONDS = 4.0  # how long a fake peer listens after its last frame
RPC_SECONDS = 10.0  # one HTTP request of an attack
MAX_ANSWER_BYTES = 16 * 2**20  # read of one HTTP answer


@dataclass
class Tally:
    """Per attack kind: attempts, frames or requests sent, and how each attempt ended."""

    counts: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    http: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, kind: str, what: str, n: int = 1) -> None:
        self.counts[kind][what] += n


@dataclass
class Target:
    """What the attacks need of the target node, refreshed by the sampler."""

    p2p: str
    rpc_host: str
    rpc_port: int
    chain_id: int
    genesis_hash: bytes
    head_number: int = 0
    head_hash: bytes = b""
    head_slot: int = 0
    finalized: int = 0

    def hello(self, key: PrivateKey, *, listen: bytes = b"", head_bonus: int = 0) -> m.Hello:
        return new_hello(
            chain_id=self.chain_id,
            genesis_hash=self.genesis_hash,
            head_number=self.head_number + head_bonus,
            head_hash=self.head_hash if head_bonus == 0 else os.urandom(32),
            finalized=self.finalized,
            node_id=key.address,
            listen=listen,
        )


def update_target(target: Target, info: dict[str, Any]) -> None:
    target.head_number = info["head"]["number"]
    target.head_hash = bytes.fromhex(info["head"]["hash"][2:])
    target.head_slot = info["head"]["slot"]
    target.finalized = info["finalized"]["number"]


class FakePeer:
    """A peer of our own over TCP: a real handshake with a fresh key, then what we send."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.answered = 0  # PONG, BLOCKS and PEERS the node sent us

    @classmethod
    async def connect(cls, target: Target, hello: m.Hello, key: PrivateKey) -> FakePeer | None:
        """None when the node refused the connection or the handshake."""
        try:
            with trio.fail_after(HANDSHAKE_SECONDS):
                conn = await TcpTransport().connect(target.p2p)
        except (OSError, trio.TooSlowError):
            return None
        try:
            with trio.fail_after(HANDSHAKE_SECONDS):
                await handshake(conn, hello, key)
        except (PorchainError, ConnectionClosed, trio.TooSlowError):
            await conn.aclose()
            return None
        return cls(conn)

    async def send(self, frame: bytes) -> bool:
        try:
            await self.conn.send(frame)
        except ConnectionClosed:
            return False
        return True

    async def watch(self, seconds: float, respond: Responder | None = None) -> str:
        """Read until the node closes us ("banned" with a ban's DISCONNECT, else "closed") or
        `seconds` pass ("held"); answer PINGs, and what `respond` answers. Then close."""
        try:
            with trio.move_on_after(seconds):
                return await self._read(respond)
            return "held"
        finally:
            with trio.move_on_after(1):
                await self.conn.aclose()

    async def _read(self, respond: Responder | None) -> str:
        while True:
            try:
                frame = await self.conn.receive()
            except (ConnectionClosed, PorchainError):
                return "closed"
            try:
                message = m.decode_message(frame)
            except DecodeError:
                continue
            if isinstance(message, m.Disconnect):
                return "banned" if message.reason.startswith(b"banned") else "closed"
            self.answered += isinstance(message, m.Pong | m.Blocks | m.Peers)
            replies = respond(message) if respond else []
            if isinstance(message, m.Ping):
                replies.append(m.Pong(message.nonce))
            for reply in replies:
                frame = reply if isinstance(reply, bytes) else m.encode_message(reply)
                if not await self.send(frame):
                    return "closed"


Responder = Callable[[Record], list[Record | bytes]]


def polite(message: Record) -> list[Record | bytes]:
    """An honest-looking peer that has nothing: empty answers."""
    if isinstance(message, m.GetPeers):
        return [m.Peers(message.request_id, [])]
    if isinstance(message, m.GetBlocks):
        return [m.Blocks(message.request_id, [])]
    return []


def fresh_key(rng: random.Random) -> PrivateKey:
    return PrivateKey(rng.randbytes(32))


async def run_fake(
    tally: Tally,
    kind: str,
    target: Target,
    rng: random.Random,
    frames: list[bytes],
    *,
    listen: bytes = b"",
    head_bonus: int = 0,
    respond: Responder | None = None,
) -> None:
    """One fake peer: handshake, send `frames`, listen for the node's verdict."""
    key = fresh_key(rng)
    peer = await FakePeer.connect(
        target, target.hello(key, listen=listen, head_bonus=head_bonus), key
    )
    tally.add(kind, "attempts")
    if peer is None:
        tally.add(kind, "refused")
        return
    for frame in frames:
        if not await peer.send(frame):
            break
        tally.add(kind, "sent")
    outcome = await peer.watch(ANSWER_SECONDS, respond)
    tally.add(kind, outcome)
    tally.add(kind, "answered", min(peer.answered, 1))


async def raw_connection(
    tally: Tally, kind: str, target: Target, payload: bytes, hold: float
) -> None:
    """Connect, send `payload` before any handshake, and see whether the node closes us."""
    tally.add(kind, "attempts")
    host, port = target.p2p.rsplit(":", 1)
    try:
        stream = await trio.open_tcp_stream(host, int(port))
    except OSError:
        tally.add(kind, "refused")
        return
    outcome, answered = "held", False
    async with stream:
        with trio.move_on_after(hold):
            try:
                if payload:
                    await stream.send_all(payload)
                    tally.add(kind, "sent")
                while await stream.receive_some(65536):
                    answered = True
                outcome = "closed"
            except (trio.BrokenResourceError, OSError):
                outcome = "closed"
    tally.add(kind, outcome)
    tally.add(kind, "answered", answered)


async def http_post(host: str, port: int, body: bytes) -> tuple[int | None, bytes]:
    """One POST on its own connection: (HTTP status or None if no answer, body)."""
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    answer = bytearray()
    with trio.move_on_after(RPC_SECONDS):
        try:
            async with await trio.open_tcp_stream(host, port) as stream:
                await stream.send_all(head + body)
                while len(answer) < MAX_ANSWER_BYTES and (data := await stream.receive_some(65536)):
                    answer += data
        except (OSError, trio.BrokenResourceError):
            pass
    status_line, _, rest = bytes(answer).partition(b"\r\n")
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return None, b""
    return int(parts[1]), rest.partition(b"\r\n\r\n")[2]


def is_jsonrpc(body: bytes) -> bool:
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    items = answer if isinstance(answer, list) else [answer]
    return bool(items) and all(isinstance(a, dict) and a.get("jsonrpc") == "2.0" for a in items)


async def post_and_count(tally: Tally, kind: str, target: Target, body: bytes) -> None:
    tally.add(kind, "attempts")
    status, answer = await http_post(target.rpc_host, target.rpc_port, body)
    tally.add(kind, "sent")
    tally.http[kind][str(status) if status else "no answer"] += 1
    if status is None:
        tally.add(kind, "closed")
    elif is_jsonrpc(answer):
        tally.add(kind, "answered")
    else:
        tally.add(kind, "not_jsonrpc")
