"""Headers and blocks (PROTOCOL section 5).

A header is `[parent_hash, number, slot, producer, state_root, tx_root, wsc_id, extra, signature]`;
the producer signs keccak256 of the RLP of the first eight fields, and the block hash is keccak256
of the whole signed header. A block is `[header, [raw transaction, ...]]`: transactions travel as
opaque byte strings, so their hashes are taken over the very bytes that were signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from porchain.crypto.hashing import ZERO_HASH, keccak
from porchain.crypto.keys import ADDRESS_SIZE, PrivateKey, recover_address
from porchain.errors import InvalidBlock, InvalidSignature
from porchain.types.codec import (
    decode_bytes,
    decode_fixed,
    decode_list,
    decode_uint,
    encode_uint,
    rlp_decode,
    rlp_encode,
)
from porchain.types.transactions import SIGNATURE_SIZE, Transaction

MAX_EXTRA_WIRE_BYTES = (
    1024  # the WSC's max_extra_bytes is checked by the rules; this bounds decoding
)
ZERO_ADDRESS = b"\x00" * ADDRESS_SIZE
DECODED_BLOCKS = 256  # decoded blocks kept by their bytes,
CACHED_BLOCK_BYTES = 64 * 1024  # each at most this long (so at most 16 MiB)


@dataclass(frozen=True, slots=True)
class Header:
    parent_hash: bytes
    number: int
    slot: int
    producer: bytes
    state_root: bytes
    tx_root: bytes
    wsc_id: int
    extra: bytes = b""
    signature: bytes = b""
    _hash: list[bytes] = field(default_factory=list, init=False, compare=False, repr=False)

    def _unsigned_fields(self) -> list[bytes]:
        return [
            self.parent_hash,
            encode_uint(self.number),
            encode_uint(self.slot),
            self.producer,
            self.state_root,
            self.tx_root,
            encode_uint(self.wsc_id),
            self.extra,
        ]

    def to_rlp(self) -> list[bytes]:
        return [*self._unsigned_fields(), self.signature]

    def encode(self) -> bytes:
        return rlp_encode(self.to_rlp())

    @property
    def hash(self) -> bytes:
        if not self._hash:
            self._hash.append(keccak(self.encode()))
        return self._hash[0]

    @property
    def signing_hash(self) -> bytes:
        return keccak(rlp_encode(self._unsigned_fields()))

    def signed(self, key: PrivateKey) -> Header:
        return replace(self, signature=key.sign_hash(self.signing_hash))

    def recover_producer(self) -> bytes:
        try:
            return recover_address(self.signing_hash, self.signature)
        except InvalidSignature as exc:
            raise InvalidBlock(f"bad block signature: {exc}") from None

    @classmethod
    def from_rlp(cls, item: object) -> Header:
        items = decode_list(item, 9, "header")
        return cls(
            parent_hash=decode_fixed(items[0], 32, "parent_hash"),
            number=decode_uint(items[1], "number", 8),
            slot=decode_uint(items[2], "slot", 8),
            producer=decode_fixed(items[3], ADDRESS_SIZE, "producer"),
            state_root=decode_fixed(items[4], 32, "state_root"),
            tx_root=decode_fixed(items[5], 32, "tx_root"),
            wsc_id=decode_uint(items[6], "wsc_id", 8),
            extra=decode_bytes(items[7], "extra", MAX_EXTRA_WIRE_BYTES),
            signature=decode_bytes(items[8], "signature", SIGNATURE_SIZE),
        )

    @classmethod
    def decode(cls, data: bytes) -> Header:
        return cls.from_rlp(rlp_decode(data, "header"))

    def __repr__(self) -> str:
        return f"<Header #{self.number} {self.hash.hex()[:8]}..>"


@dataclass(frozen=True, slots=True)
class Block:
    header: Header
    transactions: tuple[Transaction, ...] = ()
    _encoded: list[bytes] = field(default_factory=list, init=False, compare=False, repr=False)

    @property
    def hash(self) -> bytes:
        return self.header.hash

    @property
    def number(self) -> int:
        return self.header.number

    @property
    def slot(self) -> int:
        return self.header.slot

    def encode(self) -> bytes:
        if not self._encoded:
            body = [tx.encoded for tx in self.transactions]
            self._encoded.append(rlp_encode([self.header.to_rlp(), body]))
        return self._encoded[0]

    @property
    def size(self) -> int:
        return len(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> Block:
        """The block `data` encodes. Equal bytes give the same (frozen) object: a block reaches
        a node from every peer that relays it, and every node of a simulation decodes it."""
        if not isinstance(data, bytes) or len(data) > CACHED_BLOCK_BYTES:
            return _decode_block(data)
        return _decode_block_cached(data)

    def __repr__(self) -> str:
        return f"<Block #{self.number} {self.hash.hex()[:8]}.. txs={len(self.transactions)}>"


def _decode_block(data: bytes) -> Block:
    items = decode_list(rlp_decode(data, "block"), 2, "block")
    header = Header.from_rlp(items[0])
    body = decode_list(items[1], None, "block body")
    transactions = tuple(
        Transaction.decode(decode_bytes(raw, "transaction", len(data))) for raw in body
    )
    block = Block(header, transactions)
    block._encoded.append(bytes(data))  # the bytes it came from are its encoding
    return block


_decode_block_cached = lru_cache(maxsize=DECODED_BLOCKS)(_decode_block)


def compute_tx_root(transactions: Sequence[Transaction]) -> bytes:
    """Binary keccak Merkle root over transaction hashes, with the count mixed in.

    Odd levels are padded with the zero hash (not by duplicating the last node, which lets two
    different lists share a root), and mixing in the length separates lists that differ only in
    trailing padding.
    """
    level = [tx.hash for tx in transactions]
    while len(level) > 1:
        if len(level) % 2:
            level.append(ZERO_HASH)
        level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    root = level[0] if level else ZERO_HASH
    return keccak(root + len(transactions).to_bytes(8, "big"))
