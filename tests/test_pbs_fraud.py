"""Fraud reports: a relay's false bid, proven by recomputation, and passed on so that other
producers drop that relay too; false or forged reports refused, their senders banned."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
import trio

from porchain.chain import Chain
from porchain.errors import DecodeError
from porchain.net import messages as m
from porchain.node import Node
from porchain.pbs.attacks import OverstatingRelay, UncheckedRelay, WithholdingRelay
from porchain.pbs.builder import Builder
from porchain.pbs.client import RelayAddress
from porchain.pbs.fraud import (
    MAX_REPORT_BYTES,
    BadReport,
    FraudReport,
    Unverifiable,
    verify_report,
)
from porchain.pbs.messages import RELAY_BID, Acceptance, SignedBid
from porchain.pbs.record import RELAY
from porchain.pbs.relay import Relay, node_checker
from porchain.pbs.relay_app import RelayApp
from tests.factories import CHAIN_ID, KEYS, PRODUCER, dollars
from tests.netsim import PRODUCER_KEYS, address, simulation
from tests.test_network import closed, fake_peer
from tests.test_pbs_network import BUILDER_KEY, RELAY_URL, LoopRPC, pbs_genesis
from tests.test_pbs_producer import RELAY_KEY, bid_for, produce, producer, relay_of

OVERSTATED_BY = dollars(5)


async def reported(nursery: trio.Nursery, chain: Chain, relay: Relay, **bid: object):
    """The report our producer publishes after `relay` cheats it, and the producer."""
    node = await producer(nursery, chain, RelayApp(relay))
    sent: list[FraudReport] = []
    assert node.sourcing is not None
    node.sourcing.publish = sent.append
    await relay.submit(bid_for(chain, dollars(2), **bid).encode())
    await produce(node)
    (report,) = sent
    return report, node


@pytest.fixture
def clock(autojump_clock: trio.testing.MockClock) -> trio.testing.MockClock:
    return autojump_clock


async def test_an_overstated_bid_is_proven(nursery: trio.Nursery, chain: Chain, clock) -> None:
    relay = relay_of(OverstatingRelay, chain, by=OVERSTATED_BY)
    report, node = await reported(nursery, chain, relay)
    assert report.kind == "overstated" and report.transactions
    assert FraudReport.decode(report.encode()) == report
    verified = verify_report(report, node.chain)
    assert (verified.relay, verified.producer, verified.slot) == (
        RELAY_KEY.address,
        PRODUCER.address,
        node.chain.head.slot,
    )
    honest = replace(report.signed.bid, value=report.signed.bid.value - OVERSTATED_BY)
    cases = [
        (replace(report, signed=SignedBid.sign(honest, RELAY_KEY, RELAY_BID)), "at least the bid"),
        (replace(report, kind="invalid"), "the block is valid"),
        (replace(report, transactions=report.transactions[1:]), "not the bid header's"),
        (
            replace(
                report, acceptance=Acceptance.sign(CHAIN_ID, report.acceptance.header, KEYS[5])
            ),
            "not signed by the header's producer",
        ),
        (
            replace(
                report,
                acceptance=Acceptance.sign(
                    CHAIN_ID, replace(report.acceptance.header, extra=b"x"), PRODUCER
                ),
            ),
            "not of the bid's header",
        ),
        (
            replace(report, acceptance=Acceptance.sign(7, report.acceptance.header, PRODUCER)),
            "another chain",
        ),
    ]
    for forged, why in cases:
        with pytest.raises(BadReport, match=why):
            verify_report(forged, node.chain)


async def test_an_invalid_block_is_proven(nursery: trio.Nursery, chain: Chain, clock) -> None:
    relay = relay_of(UncheckedRelay, chain)
    report, node = await reported(nursery, chain, relay, state_root=b"\x01" * 32)
    assert report.kind == "invalid"
    assert verify_report(report, node.chain).relay == RELAY_KEY.address
    with pytest.raises(BadReport, match="overstatement claimed of an invalid block"):
        verify_report(replace(report, kind="overstated"), node.chain)


async def test_a_withheld_body_is_reported_not_proven(
    nursery: trio.Nursery, chain: Chain, clock
) -> None:
    relay = relay_of(WithholdingRelay, chain, after=0)
    report, node = await reported(nursery, chain, relay)
    assert report.kind == "withheld" and report.transactions == ()
    assert verify_report(report, node.chain).kind == "withheld"  # the chain has another block
    bid_header = report.signed.bid.header
    on_the_chain = node.chain.get_block(node.chain.head.hash)
    assert on_the_chain is not None
    with pytest.raises(BadReport, match="it was not withheld"):
        claim = replace(report.signed.bid, header=replace(on_the_chain.header, signature=b""))
        acceptance = Acceptance.sign(CHAIN_ID, claim.header, PRODUCER)
        verify_report(
            replace(
                report, signed=SignedBid.sign(claim, RELAY_KEY, RELAY_BID), acceptance=acceptance
            ),
            node.chain,
        )
    later = replace(bid_header, number=bid_header.number + 5, slot=bid_header.slot + 5)
    ahead = replace(report.signed.bid, header=later)
    with pytest.raises(Unverifiable, match="no block"):
        verify_report(
            replace(
                report,
                signed=SignedBid.sign(ahead, RELAY_KEY, RELAY_BID),
                acceptance=Acceptance.sign(CHAIN_ID, later, PRODUCER),
            ),
            node.chain,
        )


def test_garbage_reports_do_not_decode() -> None:
    for raw in (b"", b"\xc0", b"\xc4\x83abc\xc0\xc0\xc0", b"\x00" * (MAX_REPORT_BYTES + 1)):
        with pytest.raises(DecodeError):
            FraudReport.decode(raw)


async def test_a_report_drops_the_relay_at_producers_it_never_cheated(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(pbs_genesis()) as sim:
        builder_node = await sim.start_node(3, builder_api=True)
        rpc = LoopRPC(builder_node)
        relay = OverstatingRelay(
            RELAY_KEY,
            CHAIN_ID,
            node_checker(rpc),
            builder_node.clock.now_ms,
            args={"by": OVERSTATED_BY},
        )
        transport = httpx.ASGITransport(app=RelayApp(relay))
        relay_address = RelayAddress.parse(f"http://0x{RELAY_KEY.address.hex()}@relay.test")
        producers: list[Node] = []
        for i in range(3):
            producers.append(
                await sim.start_node(i, relays=(relay_address,), relay_transport=transport)
            )
        async with httpx.AsyncClient(mounts={RELAY_URL: transport}) as http:
            builder = Builder(
                BUILDER_KEY, rpc, [RELAY_URL], http, pay=dollars(1), clock=builder_node.clock
            )
            sim.nursery.start_soon(builder.run)
            with trio.fail_after(60):
                while not all(_dropped(p) for p in producers):
                    await trio.sleep(0.1)
        details = [p.sourcing.book.records[RELAY, RELAY_KEY.address].last_fault for p in producers]
        caught = [d for d in details if b"reported by producer" not in d]
        told = [d for d in details if b"reported by producer" in d]
        assert len(caught) >= 1 and len(told) >= 1, details  # caught by one, told to the others
        for p in producers:  # none signed the overstated block
            assert all(e.source == "local" for e in p.sourcing.produced.entries)
        assert len({p.chain.head.hash for p in producers}) <= 2  # and the network went on


def _dropped(node: Node) -> bool:
    assert node.sourcing is not None
    record = node.sourcing.book.records.get((RELAY, RELAY_KEY.address))
    return record is not None and record.dropped


async def test_a_garbage_fraud_frame_gets_its_sender_banned(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(pbs_genesis()) as sim:
        for i in range(2):
            await sim.start_node(i)
        await trio.sleep(1.05)
        conn, fake_key = await fake_peer(sim, 0)
        await conn.send(m.encode_message(m.Fraud(b"\xc3not a report")))
        assert await closed(conn)
        assert fake_key.address in sim.nodes[0].network.banned
        assert address(0) and PRODUCER_KEYS
