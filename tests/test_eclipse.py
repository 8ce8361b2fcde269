"""Eclipse resistance and bounded peer tables (issue 10, findings 5, 6), over the in-memory
network on virtual time: fake peers that pass the handshake and then only ping cannot take the
slots a node dials itself, crowd it from one IP, keep a useful newcomer out, flood its address
book, or get strangers' addresses gossiped."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from contextlib import suppress

import trio
import trio.testing

from porchain.net import messages as m
from porchain.net.addressbook import MAX_ADDRESSES
from porchain.net.peertable import EVICTION_MIN_AGE
from porchain.net.transport import Connection, ConnectionClosed
from tests.netsim import Sim, address, network_genesis, simulation
from tests.test_network import agree, fake_peer, keeps_producing, next_message, two_nodes

FAKE_KEYS = itertools.count(1)  # a fake peer's key number: each its own node id


async def admitted(conn: Connection) -> bool:
    """Whether the node took the fake peer: it asks a peer it registers for addresses at once,
    and closes one it refuses."""
    try:
        await next_message(conn, m.GetPeers)
    except ConnectionClosed:
        return False
    return True


async def hold(conn: Connection) -> None:
    """Keep a fake peer connected doing nothing useful: read everything, ping every second."""

    async def drain() -> None:
        with suppress(ConnectionClosed):
            while True:
                await conn.receive()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drain)
        with suppress(ConnectionClosed):
            for nonce in itertools.count():
                await conn.send(m.encode_message(m.Ping(nonce)))
                await trio.sleep(1)
        nursery.cancel_scope.cancel()


async def connect_fakes(sim: Sim, target: int, count: int, source: str = "fake{}:1") -> list[bytes]:
    """Connect `count` fake peers to node `target`, the i-th from `source.format(i)`; hold the
    admitted ones and return their node ids."""
    ids = []
    for i in range(count):
        number = next(FAKE_KEYS)
        conn, fake_key = await fake_peer(sim, target, number=number, source=source.format(i))
        if await admitted(conn):
            sim.nursery.start_soon(hold, conn)
            ids.append(fake_key.address)
    return ids


async def answer_peers(conn: Connection, addresses: list[bytes]) -> None:
    """Answer the node's GET_PEERS with `addresses`; return once it has read them."""
    request = await next_message(conn, m.GetPeers)
    await conn.send(m.encode_message(m.Peers(request.request_id, addresses)))
    await conn.send(m.encode_message(m.Ping(1)))
    await next_message(conn, m.Pong)


async def eventually(condition: Callable[[], bool], timeout: float) -> None:
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.1)


async def still_producing(sim: Sim) -> bool:
    """`keeps_producing`, checked mid-slot whatever time the fakes' frames took."""
    await trio.sleep_until(math.ceil(trio.current_time()))
    return await keeps_producing(sim)


async def test_fake_peers_filling_every_inbound_slot_cannot_eclipse_a_node(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Finding 5: 16 fakes took every slot and the restarted honest peer stayed out for 25 s."""
    async with simulation(network_genesis(2)) as sim:
        victim = await sim.start_node(0, bootnodes=(address(1),))
        honest = await sim.start_node(1, bootnodes=(address(0),))
        await trio.sleep(2.05)
        assert agree(sim)
        sim.stop_node(honest)
        fakes = await connect_fakes(sim, 0, 16)
        assert len(fakes) == victim.network.inbound_slots == 8  # the rest were refused
        honest = await sim.restart_node(1, bootnodes=(address(0),))
        await eventually(lambda: honest.network.node_id in victim.network.peers, timeout=4)
        assert await still_producing(sim)
        assert set(fakes) <= set(victim.network.peers)  # nobody had to be evicted


async def test_inbound_peers_are_limited_per_ip_but_not_on_loopback(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with two_nodes() as sim:
        assert len(await connect_fakes(sim, 0, 3, "10.0.0.7:400{}")) == 2  # max_inbound_per_ip
        assert len(await connect_fakes(sim, 0, 4, "127.0.0.1:500{}")) == 4  # a devnet's
        assert await still_producing(sim)


async def test_a_new_peer_takes_the_slot_of_an_idle_one_never_of_a_useful_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with two_nodes() as sim:
        network = sim.nodes[0].network
        honest = sim.nodes[1].network.node_id  # inbound too, and its blocks make it useful
        fakes = await connect_fakes(sim, 0, 20)
        assert len(fakes) < 20  # the inbound slots are full
        await trio.sleep(EVICTION_MIN_AGE + 1)
        conn, newcomer = await fake_peer(sim, 0, number=next(FAKE_KEYS), source="late:1")
        assert await admitted(conn)
        sim.nursery.start_soon(hold, conn)
        assert {honest, newcomer.address} <= set(network.peers)
        assert len([f for f in fakes if f not in network.peers]) == 1
        # The newcomer is protected while young: the next one evicts another idle fake.
        conn, _ = await fake_peer(sim, 0, number=next(FAKE_KEYS), source="later:1")
        assert await admitted(conn)
        assert newcomer.address in network.peers
        assert len([f for f in fakes if f not in network.peers]) == 2
        assert await still_producing(sim)


async def test_the_address_book_stays_bounded_under_a_flood_of_peers_answers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Finding 6: 2 -> 642 addresses, all dialed."""
    async with two_nodes() as sim:
        network = sim.nodes[1].network
        dials: list[str] = []
        connect = network.transport.connect

        async def counted(target: str) -> Connection:
            dials.append(target)
            return await connect(target)

        network.transport.connect = counted  # type: ignore[method-assign]
        for n in range(MAX_ADDRESSES // 32 + 8):
            conn, _ = await fake_peer(sim, 1, number=n + 1, source=f"flood{n}:1")
            await answer_peers(conn, [f"10.{n}.{i}.1:30400".encode() for i in range(32)])
            await conn.aclose()
        assert len(network.addresses) <= MAX_ADDRESSES
        assert address(0) in network.addresses  # the bootnode is never the one to go
        dials.clear()
        await trio.sleep(5)
        assert len(dials) <= 2 * (5 / 0.5 + 1)  # MAX_UNVERIFIED_DIALS per dial interval
        assert await still_producing(sim)


async def test_only_addresses_verified_to_answer_are_shared(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with two_nodes() as sim:
        network = sim.nodes[1].network
        conn, _ = await fake_peer(sim, 1, number=1, source="liar:1", listen=b"claimed:30400")
        await answer_peers(conn, [b"hearsay:30400"])
        assert {"claimed:30400", "hearsay:30400"} <= set(network.addresses)
        asker, _ = await fake_peer(sim, 1, number=2, source="asker:1")
        await asker.send(m.encode_message(m.GetPeers(7)))
        answer = await next_message(asker, m.Peers)
        assert answer.addresses == [address(0).encode()]  # node 1 dialed it: node 0 answered
