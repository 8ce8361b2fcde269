"""The signed messages of builder/relay separation: canonical, and never one for another."""

from __future__ import annotations

import pytest

from porchain.crypto.keys import PrivateKey, recover_address
from porchain.errors import DecodeError
from porchain.pbs.messages import (
    BUILDER_BID,
    RELAY_BID,
    Acceptance,
    Bid,
    SignedBid,
    acceptance_hash,
    unsigned,
)
from porchain.types.blocks import Header

PRODUCER, RELAY, BUILDER = (
    PrivateKey(b"\x01" * 32),
    PrivateKey(b"\x02" * 32),
    PrivateKey(b"\x03" * 32),
)


def header() -> Header:
    return Header(b"\xaa" * 32, 7, 9, PRODUCER.address, b"\xbb" * 32, b"\xcc" * 32, 1)


def bid(value: int = 5) -> Bid:
    return Bid(1337, header(), value, BUILDER.address)


def test_a_signed_bid_round_trips_and_names_its_signer_in_its_domain_only() -> None:
    signed = SignedBid.sign(bid(), RELAY, RELAY_BID)
    again = SignedBid.decode(signed.encode())
    assert again == signed and again.signer(RELAY_BID) == RELAY.address
    assert again.signer(BUILDER_BID) != RELAY.address  # a relay's bid is no builder's


def test_a_changed_value_or_chain_changes_the_signer() -> None:
    signed = SignedBid.sign(bid(5), RELAY, RELAY_BID)
    assert SignedBid(bid(6), signed.signature).signer(RELAY_BID) != RELAY.address
    other_chain = Bid(1, header(), 5, BUILDER.address)
    assert SignedBid(other_chain, signed.signature).signer(RELAY_BID) != RELAY.address


def test_an_acceptance_is_never_a_block_signature() -> None:
    """A producer that accepted a relay's header and then publishes its own block has signed
    one block only: its acceptance does not verify as a signature of that header."""
    accepted = Acceptance.sign(1337, header(), PRODUCER)
    assert Acceptance.decode(accepted.encode()).signer() == PRODUCER.address
    as_block = header().signing_hash
    assert recover_address(as_block, accepted.signature) != PRODUCER.address
    assert acceptance_hash(1337, header()) != acceptance_hash(1338, header())


def test_a_bid_whose_header_is_signed_is_refused() -> None:
    signed_header = header().signed(PRODUCER)
    raw = SignedBid(Bid(1337, signed_header, 5, BUILDER.address), b"\x00" * 65).encode()
    with pytest.raises(DecodeError, match="no producer signature"):
        SignedBid.decode(raw)
    assert unsigned(signed_header) == header()


@pytest.mark.parametrize("raw", [b"", b"\xc0", b"\xc2\xc0\x80", bytes(70)])
def test_garbage_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        SignedBid.decode(raw)
    with pytest.raises(DecodeError):
        Acceptance.decode(raw)
