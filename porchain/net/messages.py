"""Wire messages: one type byte, then the RLP of the payload (PROTOCOL section 12).

Payloads are `Record`s, so decoding is as strict as the state's: any defect is a DecodeError,
which the peer layer turns into a ban.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache

from porchain.crypto.keys import SIGNATURE_SIZE
from porchain.errors import DecodeError
from porchain.types.codec import rlp_decode
from porchain.types.records import Record

PROTOCOL_VERSION = 1
MAX_HOST_CHARS = 253  # a DNS name, as resolvers accept it
MAX_ADDRESS_CHARS = MAX_HOST_CHARS + len(":65535")  # the longest dialable "host:port"
DECODED_FRAMES = 4096  # decoded small TXS frames kept by their bytes,
CACHED_FRAME_BYTES = 2048  # each at most this long (so at most 8 MiB)


class MsgType(IntEnum):
    HELLO = 0
    AUTH = 1
    STATUS = 2
    TXS = 3
    BLOCK = 4
    GET_BLOCKS = 5
    BLOCKS = 6
    GET_PEERS = 7
    PEERS = 8
    PING = 9
    PONG = 10
    DISCONNECT = 11
    FRAUD = 12
    GET_HEADERS = 13
    HEADERS = 14


@dataclass(slots=True)
class Hello(Record):
    """Who we are and where our chain is; `nonce` is what the peer must sign."""

    version: int = 0
    chain_id: int = 0
    genesis_hash: bytes = b""
    head_number: int = 0
    head_hash: bytes = b""
    finalized: int = 0
    node_id: bytes = b""
    nonce: bytes = b""
    listen: bytes = b""  # "host:port" we accept connections on, or empty


@dataclass(slots=True)
class Auth(Record):
    signature: bytes = b""  # over keccak("porchain-p2p" || peer's nonce || our node id)


@dataclass(slots=True)
class Status(Record):
    head_number: int = 0
    head_hash: bytes = b""
    finalized: int = 0


@dataclass(slots=True)
class Txs(Record):
    txs: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class NewBlock(Record):
    block: bytes = b""


@dataclass(slots=True)
class GetBlocks(Record):
    request_id: int = 0
    start: int = 0
    count: int = 0


@dataclass(slots=True)
class Blocks(Record):
    request_id: int = 0
    blocks: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class GetPeers(Record):
    request_id: int = 0


@dataclass(slots=True)
class Peers(Record):
    request_id: int = 0
    addresses: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class Ping(Record):
    nonce: int = 0


@dataclass(slots=True)
class Pong(Record):
    nonce: int = 0


@dataclass(slots=True)
class Disconnect(Record):
    reason: bytes = b""


@dataclass(slots=True)
class Fraud(Record):
    """A relay's fraud report (porchain.pbs.fraud), gossiped once by each node that verified it."""

    report: bytes = b""


@dataclass(slots=True)
class GetHeaders(Record):
    """Canonical headers from `start`: what a node started from a snapshot fetches below it."""

    request_id: int = 0
    start: int = 0
    count: int = 0


@dataclass(slots=True)
class Headers(Record):
    request_id: int = 0
    headers: list[bytes] = field(default_factory=list)


Message = (
    Hello
    | Auth
    | Status
    | Txs
    | NewBlock
    | GetBlocks
    | Blocks
    | GetPeers
    | Peers
    | Ping
    | Pong
    | Disconnect
    | GetHeaders
    | Headers
)

PAYLOADS: dict[MsgType, type[Record]] = {
    MsgType.HELLO: Hello,
    MsgType.AUTH: Auth,
    MsgType.STATUS: Status,
    MsgType.TXS: Txs,
    MsgType.BLOCK: NewBlock,
    MsgType.GET_BLOCKS: GetBlocks,
    MsgType.BLOCKS: Blocks,
    MsgType.GET_PEERS: GetPeers,
    MsgType.PEERS: Peers,
    MsgType.PING: Ping,
    MsgType.PONG: Pong,
    MsgType.DISCONNECT: Disconnect,
    MsgType.FRAUD: Fraud,
    MsgType.GET_HEADERS: GetHeaders,
    MsgType.HEADERS: Headers,
}
TYPES: dict[type[Record], MsgType] = {cls: t for t, cls in PAYLOADS.items()}
RESPONSES: dict[type[Record], type[Record]] = {
    GetBlocks: Blocks,
    GetPeers: Peers,
    GetHeaders: Headers,
}


def encode_message(message: Record) -> bytes:
    return bytes((TYPES[type(message)],)) + message.encode()


def decode_message(frame: bytes) -> Record:
    """Decode a frame; only DecodeError escapes, whatever the bytes.

    A gossiped transaction reaches a node in equal frames from many of its peers (and, in a
    simulation, every node in the same frame), so small TXS frames are decoded once and handed
    out as copies."""
    if frame[:1] == _TXS_TYPE and len(frame) <= CACHED_FRAME_BYTES:
        return _decode_cached(frame).copy()
    return _decode(frame)


def _decode(frame: bytes) -> Record:
    if not frame:
        raise DecodeError("empty frame")
    try:
        cls = PAYLOADS[MsgType(frame[0])]
    except ValueError:
        raise DecodeError(f"unknown message type {frame[0]}") from None
    return cls.from_rlp(rlp_decode(frame[1:], cls.__name__))


_TXS_TYPE = bytes((MsgType.TXS,))
_decode_cached = lru_cache(maxsize=DECODED_FRAMES)(_decode)


def _largest_handshake_frame() -> int:
    """The longest HELLO or AUTH an honest node sends: 8-byte integers (chain ids, block numbers
    fit 8 bytes), 32-byte hashes and nonce, a 20-byte node id, the longest dialable address."""
    top = 2**64 - 1
    hello = Hello(top, top, bytes(32), top, bytes(32), top, bytes(20), bytes(32))
    hello.listen = b"x" * MAX_ADDRESS_CHARS
    return max(len(encode_message(hello)), len(encode_message(Auth(bytes(SIGNATURE_SIZE)))))


HANDSHAKE_FRAME_BYTES = _largest_handshake_frame()  # 422: the frame limit before the handshake
