"""One authenticated peer connection: the handshake, a bounded send queue, requests.

The handshake (PROTOCOL section 12): both sides send HELLO (protocol version, chain id, genesis
hash, head, node id, a fresh nonce, the address they listen on), then AUTH, their node key's
signature over the other side's nonce, which must recover to the node id they claimed.
"""

from __future__ import annotations

import itertools
import secrets

import trio

from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey, recover_address, to_checksum_address
from porchain.errors import DecodeError, InvalidSignature, PeerMisbehaved, PorchainError
from porchain.net.messages import (
    PROTOCOL_VERSION,
    RESPONSES,
    Auth,
    Hello,
    decode_message,
    encode_message,
)
from porchain.net.transport import Connection, ConnectionClosed, is_dialable
from porchain.types.records import Record

SEND_QUEUE = 256  # frames waiting for the writer; gossip beyond this is dropped, not queued


class IncompatiblePeer(PorchainError):
    """An honest peer we cannot talk to: another chain, another version, or ourselves."""


def auth_digest(nonce: bytes, node_id: bytes) -> bytes:
    return keccak(b"porchain-p2p" + nonce + node_id)


def new_hello(**fields: object) -> Hello:
    return Hello(version=PROTOCOL_VERSION, nonce=secrets.token_bytes(32), **fields)


async def receive_message(conn: Connection) -> Record:
    try:
        return decode_message(await conn.receive())
    except DecodeError as exc:
        raise PeerMisbehaved(f"garbage message: {exc}") from None


async def handshake(conn: Connection, ours: Hello, node_key: PrivateKey) -> Hello:
    """Exchange and check HELLO and AUTH; return the peer's HELLO. The caller sets the timeout."""
    await conn.send(encode_message(ours))
    theirs = await receive_message(conn)
    if not isinstance(theirs, Hello):
        raise PeerMisbehaved(f"expected HELLO, got {type(theirs).__name__}")
    if theirs.version != ours.version:
        raise IncompatiblePeer(f"protocol version {theirs.version}, we speak {ours.version}")
    if (theirs.chain_id, theirs.genesis_hash) != (ours.chain_id, ours.genesis_hash):
        raise IncompatiblePeer(f"another chain (chain id {theirs.chain_id})")
    if theirs.node_id == ours.node_id:
        raise IncompatiblePeer("connected to ourselves")
    if len(theirs.nonce) != 32 or len(theirs.node_id) != 20:
        raise PeerMisbehaved("malformed HELLO")
    await conn.send(
        encode_message(Auth(node_key.sign_hash(auth_digest(theirs.nonce, ours.node_id))))
    )
    auth = await receive_message(conn)
    if not isinstance(auth, Auth):
        raise PeerMisbehaved(f"expected AUTH, got {type(auth).__name__}")
    try:
        signer = recover_address(auth_digest(ours.nonce, theirs.node_id), auth.signature)
    except InvalidSignature as exc:
        raise PeerMisbehaved(f"bad handshake signature: {exc}") from None
    if signer != theirs.node_id:
        raise PeerMisbehaved("handshake signature is not the claimed node's")
    conn.authenticated()
    return theirs


class Peer:
    """A connected, authenticated peer. Messages go out through one writer task reading a
    bounded queue, so a slow peer never blocks the node: gossip to it is dropped instead."""

    def __init__(self, conn: Connection, hello: Hello, *, outbound: bool) -> None:
        self.conn = conn
        self.node_id = hello.node_id
        listen = hello.listen.decode(errors="replace")
        self.listen = listen if is_dialable(listen) else None  # never trust a peer's address
        self.outbound = outbound
        self.head_number = hello.head_number
        self.head_hash = hello.head_hash
        self.finalized = hello.finalized
        self.diverged_head: bytes | None = None  # its head, when its chain conflicted with ours
        self.last_heard = self.connected_at = trio.current_time()
        self.score = 0  # valid new blocks and transactions it gave us first, blocks it synced us
        self.useful_at: float | None = None  # when it last gave us something useful
        self.dropped = 0
        self.cancel_scope = trio.CancelScope()
        self.closed = False
        self.farewell: bytes | None = None  # the DISCONNECT frame to send once its tasks stop
        self.torn = False  # a send was cut off mid-frame: the stream can carry nothing more
        self._queue_in, self._queue_out = trio.open_memory_channel[bytes](SEND_QUEUE)
        self._unsent = 0  # frames queued for the writer and not yet sent: the order to keep
        self._pending: dict[int, tuple[type[Record], trio.MemorySendChannel[Record]]] = {}
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"<Peer {to_checksum_address(self.node_id)[:10]} {self.conn.remote}>"

    @property
    def label(self) -> str:
        return f"{to_checksum_address(self.node_id)[:10]}@{self.listen or self.conn.remote}"

    def credit(self, points: int = 1) -> None:
        """Count something useful the peer gave us (the inbound slots prefer such peers)."""
        self.score += points
        self.useful_at = trio.current_time()

    def send(self, message: Record) -> bool:
        """Queue a message; False (and counted) when the queue is full."""
        return self.send_frame(encode_message(message))

    def send_frame(self, frame: bytes) -> bool:
        """Queue an encoded message (one encoding serves every peer a gossip goes to), or hand
        it to the connection at once when nothing is waiting before it and that needs no wait."""
        if not self._unsent and not self.closed and self.conn.send_nowait(frame):
            return True
        try:
            self._queue_in.send_nowait(frame)
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self.dropped += 1
            return False
        self._unsent += 1
        return True

    async def run_writer(self) -> None:
        async for frame in self._queue_out:
            self.torn = True
            await self.conn.send(frame)
            self.torn = False
            self._unsent -= 1

    async def request(self, message: Record, timeout: float) -> Record:
        """Send a request (its `request_id` is set here) and wait for the matching response.

        Raises trio.TooSlowError after `timeout`, ConnectionClosed as soon as the peer is closed.
        """
        if self.closed:
            raise ConnectionClosed(f"{self.label} is disconnected")
        request_id = next(self._ids)
        message.request_id = request_id  # type: ignore[attr-defined]
        answer_in, answer_out = trio.open_memory_channel[Record](1)
        self._pending[request_id] = (RESPONSES[type(message)], answer_in)
        try:
            if not self.send(message):
                raise trio.TooSlowError
            with trio.fail_after(timeout):
                return await answer_out.receive()
        except trio.EndOfChannel:
            raise ConnectionClosed(f"{self.label} disconnected") from None
        finally:
            self._pending.pop(request_id, None)

    def deliver(self, response: Record) -> None:
        """Hand a response to the request waiting for it (late or unasked ones are ignored).

        A response of another type than its request's is PeerMisbehaved; the request waiting
        for it then fails as the peer closes.
        """
        pending = self._pending.pop(response.request_id, None)  # type: ignore[attr-defined]
        if pending is None:
            return
        expected, waiting = pending
        if not isinstance(response, expected):
            waiting.close()
            raise PeerMisbehaved(
                f"{type(response).__name__} answer to a request for {expected.__name__}"
            )
        waiting.send_nowait(response)

    def close(self, farewell: Record | None = None) -> None:
        """Stop the peer's tasks and fail the requests waiting for it; `farewell` (a DISCONNECT)
        is sent by the peer's own task once they have stopped."""
        if farewell is not None and not self.closed:
            self.farewell = encode_message(farewell)
        self.closed = True
        self.cancel_scope.cancel()
        for _, waiting in self._pending.values():
            waiting.close()
        self._pending.clear()
