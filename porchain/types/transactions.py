"""Transactions: the RLP envelope of PROTOCOL section 4.

`[chain_id, nonce, kind, payload, fee, signature]`; the sender signs keccak256 of the RLP of the
first five fields and is recovered from the signature, never carried. The payload is an RLP list
whose shape depends on the kind; the module that handles the kind decodes it.
"""

from __future__ import annotations

from enum import IntEnum
from functools import lru_cache

from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey, recover_address
from porchain.errors import InvalidSignature, InvalidTransaction
from porchain.types.codec import (
    RLPItem,
    decode_bytes,
    decode_list,
    decode_uint,
    encode_list_payload,
    encode_uint,
    list_payload_start,
    rlp_decode,
    rlp_encode,
)

SIGNATURE_SIZE = 65
DECODED_TXS = 8192  # decoded transactions kept by their bytes,
CACHED_TX_BYTES = 2048  # each at most this long (so at most 16 MiB)


class TxKind(IntEnum):
    TRANSFER = 1
    ENCUMBER = 2
    RELEASE = 3
    COMMIT = 4
    REVEAL = 5
    VOTE = 6
    POST = 7
    EVIDENCE = 8
    ACCUSE = 9
    JURY_COMMIT = 10
    JURY_REVEAL = 11


def kind_name(kind: int) -> str:
    try:
        return TxKind(kind).name
    except ValueError:
        return f"KIND_{kind}"


class Transaction:
    __slots__ = (
        "_hash",
        "_sender",
        "chain_id",
        "encoded",
        "fee",
        "kind",
        "nonce",
        "payload",
        "signature",
    )

    def __init__(
        self,
        chain_id: int,
        nonce: int,
        kind: int,
        payload: list[RLPItem],
        fee: int,
        signature: bytes,
        *,
        encoded: bytes | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.nonce = nonce
        self.kind = kind
        self.payload = payload
        self.fee = fee
        self.signature = signature
        self.encoded = encoded if encoded is not None else rlp_encode([*self._fields(), signature])
        self._hash: bytes | None = None
        self._sender: bytes | None = None

    @classmethod
    def create(
        cls,
        key: PrivateKey,
        *,
        chain_id: int,
        nonce: int,
        kind: int,
        payload: list[RLPItem],
        fee: int,
    ) -> Transaction:
        unsigned = [
            encode_uint(chain_id),
            encode_uint(nonce),
            encode_uint(kind),
            payload,
            encode_uint(fee),
        ]
        signature = key.sign_hash(keccak(rlp_encode(unsigned)))
        tx = cls(chain_id, nonce, kind, payload, fee, signature)
        tx._sender = key.address
        return tx

    @classmethod
    def decode(cls, data: bytes) -> Transaction:
        """The transaction `data` encodes. Equal bytes give the same object, with its hash and
        sender computed once: a gossiped transaction reaches a node from several peers and
        then again inside a block, and in one process every node of a simulation shares it.
        A transaction is never changed after it is made, so sharing it is safe."""
        if not isinstance(data, bytes) or len(data) > CACHED_TX_BYTES:
            return _decode_transaction(data)
        return _decode_cached(data)

    def _fields(self) -> list[RLPItem]:
        return [
            encode_uint(self.chain_id),
            encode_uint(self.nonce),
            encode_uint(self.kind),
            self.payload,
            encode_uint(self.fee),
        ]

    @property
    def hash(self) -> bytes:
        if self._hash is None:
            self._hash = keccak(self.encoded)
        return self._hash

    @property
    def signing_hash(self) -> bytes:
        return keccak(self._unsigned_encoding())

    def _unsigned_encoding(self) -> bytes:
        if len(self.signature) != SIGNATURE_SIZE:
            return rlp_encode(self._fields())
        # A 65-byte signature is the last item of the canonical encoding: 0xb8 0x41 + 65 bytes.
        items = self.encoded[list_payload_start(self.encoded) : -(SIGNATURE_SIZE + 2)]
        return encode_list_payload(items)

    @property
    def size(self) -> int:
        return len(self.encoded)

    @property
    def sender(self) -> bytes:
        """The recovered sender; raises InvalidTransaction when the signature is bad."""
        if self._sender is None:
            try:
                self._sender = recover_address(self.signing_hash, self.signature)
            except InvalidSignature as exc:
                raise InvalidTransaction(f"bad signature: {exc}") from None
        return self._sender

    @property
    def fee_per_byte(self) -> float:
        return self.fee / self.size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transaction) and self.encoded == other.encoded

    def __hash__(self) -> int:
        return hash(self.hash)

    def __repr__(self) -> str:
        return f"<Tx {kind_name(self.kind)} {self.hash.hex()[:8]}.. nonce={self.nonce}>"


def _decode_transaction(data: bytes) -> Transaction:
    items = decode_list(rlp_decode(data, "transaction"), 6, "transaction")
    return Transaction(
        decode_uint(items[0], "chain_id", 8),
        decode_uint(items[1], "nonce", 8),
        decode_uint(items[2], "kind", 2),
        decode_list(items[3], None, "payload"),
        decode_uint(items[4], "fee", 16),
        decode_bytes(items[5], "signature", SIGNATURE_SIZE),
        encoded=bytes(data),
    )


_decode_cached = lru_cache(maxsize=DECODED_TXS)(_decode_transaction)
