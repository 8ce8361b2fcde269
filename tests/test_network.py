"""Four nodes over the in-memory network on virtual time: agreement, finality, catching up,
partitions, and banning of peers that misbehave."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from porchain.crypto.keys import PrivateKey
from porchain.net import messages as m
from porchain.net.memory import MemoryNetwork
from porchain.net.peer import Peer, handshake, new_hello
from porchain.net.transport import ConnectionClosed
from porchain.types.blocks import Block
from tests.factories import key, keys_by_address, resign, transfer
from tests.netsim import PRODUCER_KEYS, address, network_genesis, simulation

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


async def fake_peer(sim, target: int):  # type: ignore[no-untyped-def]
    """A connection that passes the handshake with a key of its own."""
    fake_key = key(900 + target)
    conn = await sim.network.transport("fake:1").connect(address(target))
    chain = sim.nodes[target].chain
    hello = new_hello(
        chain_id=chain.state().chain.chain_id,
        genesis_hash=chain.genesis_hash,
        head_number=0,
        head_hash=chain.genesis_hash,
        finalized=0,
        node_id=fake_key.address,
    )
    await handshake(conn, hello, fake_key)
    return conn, fake_key


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
        hello = new_hello(
            chain_id=1,
            genesis_hash=b"\x00" * 32,
            head_number=0,
            head_hash=b"\x00" * 32,
            finalized=0,
            node_id=key(1).address,
        )
        peer = Peer(conn, hello, outbound=True)
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
