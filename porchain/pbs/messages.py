"""The signed messages of builder/relay separation, in canonical RLP.

Every signature here is over keccak256 of a one-byte-0x19-prefixed, named domain, the chain id
and the message: an RLP list (a header's signing payload, a transaction) never starts with 0x19,
so no bid, acceptance or report can ever be taken for a block or a transaction signature, nor
one kind of message for another, nor a message of one chain for another's.
"""

from __future__ import annotations

from dataclasses import dataclass

from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey, recover_address
from porchain.errors import DecodeError
from porchain.types.blocks import Block, Header
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

BUILDER_BID = b"builder bid"  # a builder's offer of a block to a relay
RELAY_BID = b"relay bid"  # a relay's offer of a checked header to a producer
ACCEPTANCE = b"blinded header"  # a producer's request for the body of a header it chose


def domain_hash(domain: bytes, chain_id: int, payload: bytes) -> bytes:
    return keccak(b"\x19porchain " + domain + b"\n" + chain_id.to_bytes(8, "big") + payload)


def unsigned(header: Header) -> Header:
    """The header as a builder offers it: every field but the producer's signature."""
    return Header(*[getattr(header, name) for name in UNSIGNED_FIELDS])


UNSIGNED_FIELDS = (
    "parent_hash",
    "number",
    "slot",
    "producer",
    "state_root",
    "tx_root",
    "wsc_id",
    "extra",
)


@dataclass(frozen=True)
class Bid:
    """What a block is offered for: its unsigned header, the `$` its producer's spendable
    balance gains from it (`porchain.pbs.value`), and who built it."""

    chain_id: int
    header: Header
    value: int
    builder: bytes

    def to_rlp(self) -> list:
        return [
            encode_uint(self.chain_id),
            self.header.to_rlp(),
            encode_uint(self.value),
            self.builder,
        ]

    def encode(self) -> bytes:
        return rlp_encode(self.to_rlp())

    def signing_hash(self, domain: bytes) -> bytes:
        return domain_hash(domain, self.chain_id, self.encode())

    @classmethod
    def from_rlp(cls, item: object) -> Bid:
        chain_id, header, value, builder = decode_list(item, 4, "bid")
        bid = cls(
            decode_uint(chain_id, "chain_id", 8),
            Header.from_rlp(header),
            decode_uint(value, "value"),
            decode_fixed(builder, 20, "builder"),
        )
        if bid.header.signature:
            raise DecodeError("a bid's header carries no producer signature")
        return bid


@dataclass(frozen=True)
class SignedBid:
    """A bid and the signature of whoever offers it (`domain`: a builder's or a relay's)."""

    bid: Bid
    signature: bytes

    @classmethod
    def sign(cls, bid: Bid, key: PrivateKey, domain: bytes) -> SignedBid:
        return cls(bid, key.sign_hash(bid.signing_hash(domain)))

    def signer(self, domain: bytes) -> bytes:
        """The address that signed this bid in `domain`; raises InvalidSignature."""
        return recover_address(self.bid.signing_hash(domain), self.signature)

    def encode(self) -> bytes:
        return rlp_encode([self.bid.to_rlp(), self.signature])

    @classmethod
    def decode(cls, data: bytes) -> SignedBid:
        bid, signature = decode_list(rlp_decode(data, "signed bid"), 2, "signed bid")
        return cls(Bid.from_rlp(bid), decode_fixed(signature, SIGNATURE_SIZE, "signature"))


@dataclass(frozen=True)
class Acceptance:
    """A producer's choice of a relay's header: enough for the relay to reveal the body to the
    producer only, and evidence (with the relay's signed bid) if it then withholds it."""

    chain_id: int
    header: Header
    signature: bytes

    @classmethod
    def sign(cls, chain_id: int, header: Header, key: PrivateKey) -> Acceptance:
        return cls(chain_id, header, key.sign_hash(acceptance_hash(chain_id, header)))

    def signer(self) -> bytes:
        return recover_address(acceptance_hash(self.chain_id, self.header), self.signature)

    def encode(self) -> bytes:
        return rlp_encode([encode_uint(self.chain_id), self.header.to_rlp(), self.signature])

    @classmethod
    def decode(cls, data: bytes) -> Acceptance:
        chain_id, header, signature = decode_list(rlp_decode(data, "acceptance"), 3, "acceptance")
        return cls(
            decode_uint(chain_id, "chain_id", 8),
            Header.from_rlp(header),
            decode_fixed(signature, SIGNATURE_SIZE, "signature"),
        )


def acceptance_hash(chain_id: int, header: Header) -> bytes:
    return domain_hash(ACCEPTANCE, chain_id, unsigned(header).signing_hash)


@dataclass(frozen=True)
class Submission:
    """A builder's block for a relay: its bid, signed by the builder, and the transactions."""

    signed: SignedBid
    transactions: tuple[Transaction, ...]

    @property
    def block(self) -> Block:
        return Block(self.signed.bid.header, self.transactions)

    def encode(self) -> bytes:
        bid = [self.signed.bid.to_rlp(), self.signed.signature]
        return rlp_encode([bid, [tx.encoded for tx in self.transactions]])

    @classmethod
    def decode(cls, data: bytes) -> Submission:
        signed, body = decode_list(rlp_decode(data, "submission"), 2, "submission")
        bid, signature = decode_list(signed, 2, "signed bid")
        raws = decode_list(body, None, "transactions")
        return cls(
            SignedBid(Bid.from_rlp(bid), decode_fixed(signature, SIGNATURE_SIZE, "signature")),
            tuple(Transaction.decode(decode_bytes(raw, "transaction", len(data))) for raw in raws),
        )
