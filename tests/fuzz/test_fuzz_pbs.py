"""Builder/relay separation's decoders on garbage and on mutations of genuine messages: a
relay's submission or acceptance, a producer's view of a bid, a peer's fraud report. Each may
only raise DecodeError (the relay answers 400, the producer records `bad_bid`, a peer is
banned), never anything that could take down the relay or the node."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porchain.crypto.hashing import ZERO_HASH
from porchain.errors import DecodeError
from porchain.pbs.fraud import FraudReport
from porchain.pbs.messages import BUILDER_BID, RELAY_BID, Acceptance, Bid, SignedBid, Submission
from porchain.types.blocks import Header, compute_tx_root
from tests.factories import CHAIN_ID, KEYS, transfer
from tests.fuzz.strategies import fuzz_settings, fuzzed

TXS = (transfer(KEYS[1], KEYS[2].address, 5, nonce=0),)
HEADER = Header(
    parent_hash=ZERO_HASH,
    number=1,
    slot=3,
    producer=KEYS[0].address,
    state_root=ZERO_HASH,
    tx_root=compute_tx_root(TXS),
    wsc_id=0,
)
BID = Bid(CHAIN_ID, HEADER, 7, KEYS[3].address)
ACCEPTANCE = Acceptance.sign(CHAIN_ID, HEADER, KEYS[0])
GENUINE: dict[str, tuple[Callable[[bytes], Any], bytes]] = {
    "submission": (
        Submission.decode,
        Submission(SignedBid.sign(BID, KEYS[3], BUILDER_BID), TXS).encode(),
    ),
    "signed bid": (SignedBid.decode, SignedBid.sign(BID, KEYS[4], RELAY_BID).encode()),
    "acceptance": (Acceptance.decode, ACCEPTANCE.encode()),
    "fraud report": (
        FraudReport.decode,
        FraudReport(
            "overstated", SignedBid.sign(BID, KEYS[4], RELAY_BID), ACCEPTANCE, TXS
        ).encode(),
    ),
}


@pytest.mark.parametrize("name", GENUINE)
def test_genuine_messages_decode(name: str) -> None:
    decode, raw = GENUINE[name]
    assert decode(raw).encode() == raw


@pytest.mark.parametrize("name", GENUINE)
@fuzz_settings(60)
@given(data=st.data())
def test_decoders_raise_only_decode_error(name: str, data: st.DataObject) -> None:
    decode, raw = GENUINE[name]
    mutated = data.draw(fuzzed(st.just(raw)))
    try:
        decoded = decode(mutated)
    except DecodeError:
        return
    assert decode(decoded.encode()) == decoded  # what decodes is a whole message of its kind
