"""Four nodes over the in-memory network on virtual time: agreement, finality, catching up,
partitions, and banning of peers that misbehave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from porchain import sideblocks
from porchain.crypto.keys import PrivateKey
from porchain.net import messages as m
from porchain.net.memory import MemoryNetwork
from porchain.net.peer import Peer, handshake, new_hello
from porchain.net.transport import ConnectionClosed
from porchain.types.blocks import Block
from tests.factories import key, keys_by_address, peer_hello, resign, transfer
from tests.netsim import PRODUCER_KEYS, Sim, address, network_genesis, simulation

DURATION = 2  # minimal preset: block pools stay open two blocks


def agree(sim) -> bool:  # type: ignore[no-untyped-def]
    roots = {node.chain.head.state_root for node in sim.nodes}
    return len(sim.heads()) == 1 and len(roots) == 1


async def test_four_nodes_agree_and_finalize(autojump_clock: trio.testing.MockClock) -> None:
    async with simulation(network_genesis(4)) as sim:
        for i in range(4):
            await sim.start_node(i)
        await trio.sleep(20.05)  # 200 slots; mid-slot, so no block is in flight
        assert agree(sim)
        head = sim.nodes[0].chain.head
        assert head.number >= 150  # nearly every slot filled
        assert {len(node.network.peers) for node in sim.nodes} == {3}
        for node in sim.nodes:
            assert head.number - node.chain.finalized.number <= DURATION + 2
        producers = {
            sim.nodes[0].chain.get_block_by_number(n).header.producer for n in range(1, 100)
        }
        assert len(producers) == 4


async def test_a_node_started_100_blocks_late_catches_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(network_genesis(4)) as sim:
        for i in range(3):
            await sim.start_node(i)
        await trio.sleep(14.05)
        assert sim.nodes[0].chain.head.number >= 100
        late = await sim.start_node(3)
        await trio.sleep(3)
        assert late.chain.head.number >= 100
        assert agree(sim)


async def test_partition_stops_finality_and_heals_into_one_chain(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(network_genesis(4)) as sim:
        for i in range(4):
            await sim.start_node(i)
        await trio.sleep(5.05)
        assert agree(sim)
        sim.network.partition([address(0), address(1)], [address(2), address(3)])
        await trio.sleep(2)  # what was in flight settles
        finalized = {n.chain.finalized.number for n in sim.nodes}
        await trio.sleep(10)
        assert {n.chain.finalized.number for n in sim.nodes} == finalized  # no finality
        left, right = sim.nodes[0].chain.head, sim.nodes[2].chain.head
        assert left.hash != right.hash  # both sides kept producing
        assert sim.nodes[0].chain.get_block(right.hash) is None
        sim.network.heal()
        await trio.sleep(10.05)
        assert agree(sim)
        assert min(n.chain.finalized.number for n in sim.nodes) > max(finalized)


async def fake_peer(  # type: ignore[no-untyped-def]
    sim, target: int, *, listen: bytes = b"", number: int = 0, source: str = "fake:1"
):
    """A connection from `source` that passes the handshake with a key of its own (one per
    `number`)."""
    fake_key = key(900 + target + 64 * number)
    conn = await sim.network.transport(source).connect(address(target))
    chain = sim.nodes[target].chain
    hello = new_hello(
        chain_id=chain.state().chain.chain_id,
        genesis_hash=chain.genesis_hash,
        head_number=0,
        head_hash=chain.genesis_hash,
        finalized=0,
        node_id=fake_key.address,
        listen=listen,
    )
    await handshake(conn, hello, fake_key)
    return conn, fake_key


async def next_message(conn, cls):  # type: ignore[no-untyped-def]
    """The next message of type `cls` the node sends on `conn` (the others are skipped)."""
    with trio.fail_after(30):
        while not isinstance(message := m.decode_message(await conn.receive()), cls):
            pass
    return message


async def closed(conn) -> bool:  # type: ignore[no-untyped-def]
    with trio.move_on_after(30):
        try:
            while True:
                await conn.receive()
        except ConnectionClosed:
            return True
    return False


def invalid_block(sim) -> bytes:  # type: ignore[no-untyped-def]
    """A well-formed block on the head signed by a key that is not scheduled."""
    chain = sim.nodes[0].chain
    head = chain.head
    header = head.__class__(
        parent_hash=head.hash,
        number=head.number + 1,
        slot=head.slot + 1,
        producer=PrivateKey(b"\x07" * 32).address,
        state_root=head.state_root,
        tx_root=head.tx_root,
        wsc_id=0,
    ).signed(PrivateKey(b"\x07" * 32))
    return Block(header).encode()


async def test_misbehaving_peers_are_banned_while_the_rest_carry_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(network_genesis(4)) as sim:
        for i in range(4):
            await sim.start_node(i)
        await trio.sleep(2.05)
        frames = {
            "garbage": b"\xff\x00 not a message",
            "invalid block": m.encode_message(m.NewBlock(invalid_block(sim))),
            "oversized": b"\x03" + b"\x00" * (sim.network.max_frame_bytes + 1),
        }
        banned = []
        for target, (_, frame) in enumerate(frames.items()):
            conn, fake_key = await fake_peer(sim, target)
            await conn.send(frame)
            assert await closed(conn)
            assert fake_key.address in sim.nodes[target].network.banned
            banned.append((target, fake_key))
        for target, fake_key in banned:  # and a banned node cannot come back
            conn = await sim.network.transport("fake:2").connect(address(target))
            hello = new_hello(
                chain_id=sim.nodes[target].chain.state().chain.chain_id,
                genesis_hash=sim.nodes[target].chain.genesis_hash,
                head_number=0,
                head_hash=b"",
                finalized=0,
                node_id=fake_key.address,
            )
            await handshake(conn, hello, fake_key)
            assert await closed(conn)
        before = sim.nodes[0].chain.head.number
        await trio.sleep(3.05)
        assert agree(sim)
        assert sim.nodes[0].chain.head.number >= before + 20
        assert {len(node.network.peers) for node in sim.nodes} == {3}


async def test_a_peer_on_a_stale_fork_is_not_banned(autojump_clock: trio.testing.MockClock) -> None:
    """After a partition heals, a peer still on the losing fork gossips blocks that conflict
    with our finalized chain. That is not misbehaviour: the block is refused, the peer kept."""
    async with simulation(network_genesis(4)) as sim:
        for i in range(4):
            await sim.start_node(i)
        await trio.sleep(2.05)
        chain = sim.nodes[0].chain
        assert chain.finalized.number >= 2
        first = chain.get_block_by_number(1)
        stale = resign(first, keys_by_address(PRODUCER_KEYS)[first.header.producer], extra=b"fork")
        conn, fake_key = await fake_peer(sim, 0)
        await conn.send(m.encode_message(m.NewBlock(stale.encode())))
        await conn.send(m.encode_message(m.Ping(7)))
        with trio.fail_after(5):
            while not isinstance(reply := m.decode_message(await conn.receive()), m.Pong):
                pass
        assert reply.nonce == 7
        assert fake_key.address not in sim.nodes[0].network.banned
        assert chain.get_block(stale.hash) is None
        assert chain.get_block_by_number(1) == first


async def test_closing_a_peer_fails_its_pending_requests_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A connection replaced by a newer one to the same node must not leave a sync waiting for
    the request timeout."""
    network = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        await nursery.start(network.transport("b:1").listen, "b:1", lambda conn: trio.sleep(60))
        conn = await network.transport("a:1").connect("b:1")
        peer = Peer(conn, peer_hello(), outbound=True)
        failed_at = []

        async def ask() -> None:
            try:
                await peer.request(m.GetPeers(), timeout=10)
            except ConnectionClosed:
                failed_at.append(trio.current_time())

        nursery.start_soon(ask)
        await trio.sleep(1)
        closed_at = trio.current_time()
        peer.close()
        await trio.sleep(1)
        assert failed_at == [closed_at]
        with pytest.raises(ConnectionClosed):  # and a closed peer takes no new request
            await peer.request(m.GetPeers(), timeout=10)
        nursery.cancel_scope.cancel()


async def test_a_peer_that_connects_gets_our_pending_transactions(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(network_genesis(1)) as sim:
        node = await sim.start_node(0)
        user = PRODUCER_KEYS[0]
        nonce = node.pending_state().account(user.address).nonce
        sent = transfer(user, PRODUCER_KEYS[1].address, 1, nonce=nonce)
        node.submit_transaction(sent.encoded)
        conn, _ = await fake_peer(sim, 0)
        with trio.fail_after(5):
            while not isinstance(message := m.decode_message(await conn.receive()), m.Txs):
                pass
        assert message.txs == [sent.encoded]


@asynccontextmanager
async def two_nodes() -> AsyncIterator[Sim]:
    """Two honest nodes, connected and producing."""
    async with simulation(network_genesis(2)) as sim:
        for i in range(2):
            await sim.start_node(i)
        await trio.sleep(2.05)
        yield sim


async def keeps_producing(sim) -> bool:  # type: ignore[no-untyped-def]
    """The honest nodes still produce 3 s on, in agreement, every one connected to the others."""
    before = sim.nodes[0].chain.head.number
    await trio.sleep(3.05)
    ids = {node.network.node_id for node in sim.nodes}
    return (
        agree(sim)
        and sim.nodes[0].chain.head.number >= before + 20
        and all(ids - {node.network.node_id} <= set(node.network.peers) for node in sim.nodes)
    )


@pytest.mark.parametrize(
    ("asked", "wrong"),
    [(m.GetPeers, m.Blocks), (m.GetBlocks, m.Peers)],
    ids=["BLOCKS for GET_PEERS", "PEERS for GET_BLOCKS"],
)
async def test_an_answer_of_the_wrong_type_bans_the_peer_not_the_node(
    autojump_clock: trio.testing.MockClock, asked: type, wrong: type
) -> None:
    """Issue 10, finding 1: the node read the answer's fields as its request's and died."""
    async with two_nodes() as sim:
        conn, fake_key = await fake_peer(sim, 0)
        if asked is m.GetBlocks:  # a head above ours, so the node syncs from us
            await conn.send(m.encode_message(m.Status(10**6, b"\x01" * 32, 0)))
        request = await next_message(conn, asked)
        await conn.send(m.encode_message(wrong(request.request_id, [])))
        assert await closed(conn)
        assert fake_key.address in sim.nodes[0].network.banned
        assert await keeps_producing(sim)


async def test_a_hello_with_an_undialable_address_is_not_recorded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 10, finding 2: `\\xff:1` was kept, gossiped and dialed."""
    async with two_nodes() as sim:
        conn, fake_key = await fake_peer(sim, 0, listen=b"\xff:1")
        await conn.send(m.encode_message(m.Ping(1)))
        await next_message(conn, m.Pong)
        network = sim.nodes[0].network
        assert network.peers[fake_key.address].listen is None
        assert set(network.addresses) <= {address(0), address(1)}  # ours, from node 1
        assert await keeps_producing(sim)


async def test_undialable_addresses_in_a_peers_answer_are_skipped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 10, finding 2: a 64-character label made the dial loop raise UnicodeError."""
    async with two_nodes() as sim:
        conn, _ = await fake_peer(sim, 0)
        request = await next_message(conn, m.GetPeers)
        poisoned = [b"a" * 64 + b".example:1", b"\xff:1", b"host:0", b"..:1", b"b" * 254 + b":1"]
        answer = m.Peers(request.request_id, [*poisoned, b"elsewhere:30400", b"10.0.0.9:30400"])
        await conn.send(m.encode_message(answer))
        await conn.send(m.encode_message(m.Ping(1)))
        await next_message(conn, m.Pong)
        learned = set(sim.nodes[0].network.addresses) - {address(0), address(1)}
        assert learned == {"elsewhere:30400", "10.0.0.9:30400"}
        assert await keeps_producing(sim)


async def test_an_address_that_cannot_be_dialed_is_dropped_not_fatal(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 10, finding 2: an exception other than OSError dialing one address (here the
    resolver's UnicodeError for an overlong label) killed the node."""
    async with simulation(network_genesis(2)) as sim:
        await sim.start_node(0, bootnodes=())
        poisoned = "a" * 64 + ":1"
        node = await sim.start_node(1, bootnodes=(poisoned, address(0)))
        assert await keeps_producing(sim)
        assert poisoned not in node.network.addresses


async def test_a_banned_peer_is_told_why_before_the_connection_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 10, finding 7: the DISCONNECT frame was queued, then its writer cancelled."""
    async with two_nodes() as sim:
        conn, fake_key = await fake_peer(sim, 0)
        await conn.send(b"\xff\x00 not a message")
        last = None
        with trio.fail_after(30):
            try:
                while True:
                    last = m.decode_message(await conn.receive())
            except ConnectionClosed:
                pass
        assert isinstance(last, m.Disconnect)
        assert last.reason.startswith(b"banned: unknown message type 255")
        assert fake_key.address in sim.nodes[0].network.banned
        assert await keeps_producing(sim)


def competing_head(sim, signer: PrivateKey | None = None) -> Block:  # type: ignore[no-untyped-def]
    """Node 0's head block again with other extra data, losing the tie to it; signed by its
    producer, or by `signer` as the producer."""
    head = sim.nodes[0].chain.get_block(sim.nodes[0].chain.head.hash)
    producer = signer or keys_by_address(PRODUCER_KEYS)[head.header.producer]
    for n in range(256):
        block = resign(head, producer, producer=producer.address, extra=bytes([n, 1]))
        if block.hash > head.hash:
            return block
    raise AssertionError("no extra data gives a hash that high")


async def pong(conn, nonce: int) -> None:  # type: ignore[no-untyped-def]
    await conn.send(m.encode_message(m.Ping(nonce)))
    assert (await next_message(conn, m.Pong)).nonce == nonce


async def test_a_side_block_by_a_key_not_scheduled_gets_its_sender_banned(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with two_nodes() as sim:
        forged = competing_head(sim, PrivateKey(b"\x07" * 32))
        conn, fake_key = await fake_peer(sim, 0)
        await conn.send(m.encode_message(m.NewBlock(forged.encode())))
        assert await closed(conn)
        assert fake_key.address in sim.nodes[0].network.banned
        assert sim.nodes[0].chain.get_block(forged.hash) is None


async def test_a_side_block_over_the_bounds_is_refused_without_a_ban(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sideblocks, "MAX_SIDE_BLOCKS_PER_HEIGHT", 0)
    async with two_nodes() as sim:
        block = competing_head(sim)
        conn, fake_key = await fake_peer(sim, 0)
        await conn.send(m.encode_message(m.NewBlock(block.encode())))
        await pong(conn, 7)
        assert fake_key.address not in sim.nodes[0].network.banned
        assert sim.nodes[0].chain.get_block(block.hash) is None
