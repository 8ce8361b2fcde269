"""Bounds before authentication (issue 10, finding 3), over real sockets on localhost.

Each test runs a node on `TcpTransport` in-process, on the real clock (sockets do not follow a mock
clock), and waits with deadlines well under the handshake timeout.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from porchain.clock import SlotClock
from porchain.crypto.keys import PrivateKey
from porchain.errors import InvalidParameters
from porchain.genesis import Genesis
from porchain.net import messages as m
from porchain.net import peertable
from porchain.net.peer import handshake, new_hello
from porchain.net.service import NetConfig
from porchain.net.transport import MAX_FRAME_BYTES, Connection, TcpTransport, split_address
from porchain.node import Node, NodeConfig
from porchain.params import MAX_BLOCK_BYTES, WSCParams
from tests.factories import extend, key, make_genesis, new_chain

DEADLINE = 3.0  # seconds: a node that waits for the handshake timeout (30 s here) misses it
SLOW = 30.0


def recent_genesis() -> Genesis:
    return make_genesis(genesis_time=int(time.time() * 1000) - 3_600_000)


@asynccontextmanager
async def tcp_node(
    genesis: Genesis,
    nursery: trio.Nursery,
    *,
    blocks: int = 0,
    transport: TcpTransport | None = None,
    **net: object,
) -> AsyncIterator[Node]:
    """A node listening on 127.0.0.1 (any port), its chain `blocks` long, producing nothing."""
    chain = new_chain(genesis)
    for _ in range(blocks):
        extend(chain)
    node = Node(
        chain,
        SlotClock(genesis.genesis_time_ms, genesis.params.slot_ms),
        config=NodeConfig(rpc_port=None),
        transport=transport or TcpTransport(),
        node_key=PrivateKey.generate(),
        net=NetConfig(**{"listen": "127.0.0.1:0", "handshake_timeout": SLOW, **net}),  # type: ignore[arg-type]
    )
    scope = trio.CancelScope()

    async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with scope:
            await node.run(task_status=task_status)

    await nursery.start(run)
    try:
        yield node
    finally:
        scope.cancel()


def listening(node: Node) -> tuple[str, int]:
    assert node.network is not None and node.network.listen_address is not None
    return split_address(node.network.listen_address)


async def first_frame_or_end(stream: trio.SocketStream) -> bytes:
    """What the node sends first on a fresh connection: its HELLO's bytes, or b"" if it closes."""
    data = b""
    with trio.fail_after(DEADLINE):
        while len(data) < 5:
            try:
                chunk = await stream.receive_some()
            except trio.BrokenResourceError:
                return data
            if not chunk:
                return data
            data += chunk
    return data


async def closed_by_node(stream: trio.SocketStream) -> bool:
    with trio.move_on_after(DEADLINE):
        while True:
            try:
                if not await stream.receive_some():
                    return True
            except trio.BrokenResourceError:
                return True
    return False


async def authenticated_peer(node: Node, genesis: Genesis, index: int) -> Connection:
    host, port = listening(node)
    conn = await TcpTransport().connect(f"{host}:{port}")
    peer_key = key(700 + index)
    hello = new_hello(
        chain_id=genesis.chain_id,
        genesis_hash=node.chain.genesis_hash,
        head_number=0,
        head_hash=node.chain.genesis_hash,
        finalized=0,
        node_id=peer_key.address,
    )
    await handshake(conn, hello, peer_key)
    return conn


async def send_half_a_frame(conn: Connection, size: int) -> None:
    """The length of a TXS frame of `size` bytes and half its body; the node waits for the rest
    (or, its budget used, reads none of it)."""
    stream = conn.stream  # type: ignore[attr-defined]
    with contextlib.suppress(trio.BrokenResourceError):
        await stream.send_all(size.to_bytes(4, "big") + bytes([m.MsgType.TXS]) * (size // 2))


async def test_a_length_over_the_handshake_limit_closes_before_the_body_is_read() -> None:
    genesis = recent_genesis()
    async with trio.open_nursery() as nursery, tcp_node(genesis, nursery) as node:
        transport = node.network.transport  # type: ignore[union-attr]
        stream = await trio.open_tcp_stream(*listening(node))
        assert await first_frame_or_end(stream)  # its HELLO
        await stream.send_all((2**20).to_bytes(4, "big"))  # a "HELLO" of 1 MiB, body unsent
        assert await closed_by_node(stream)
        assert transport.budget.peak <= m.HANDSHAKE_FRAME_BYTES
        assert transport.budget.used == 0
        nursery.cancel_scope.cancel()


async def test_connections_over_the_handshake_bound_are_closed_at_once() -> None:
    genesis = recent_genesis()
    async with trio.open_nursery() as nursery, tcp_node(genesis, nursery, max_handshakes=4) as node:
        streams = [await trio.open_tcp_stream(*listening(node)) for _ in range(6)]
        firsts = [await first_frame_or_end(stream) for stream in streams]
        assert [bool(f) for f in firsts] == [True] * 4 + [False] * 2  # no HELLO: closed first
        for stream in streams[:4]:  # the bound frees as handshakes end
            await stream.aclose()
        with trio.fail_after(DEADLINE):
            while len(node.network._handshakes):  # type: ignore[union-attr]
                await trio.sleep(0.01)
        late = await trio.open_tcp_stream(*listening(node))
        assert await first_frame_or_end(late)
        nursery.cancel_scope.cancel()


def test_handshakes_are_bounded_per_remote_host_but_loopback() -> None:
    slots = peertable.HandshakeSlots(total=5, per_ip=2)
    assert [slots.take(f"203.0.113.7:{port}") for port in range(3)] == [True, True, False]
    assert slots.take("198.51.100.1:1")
    slots.give_back("203.0.113.7:0")
    assert slots.take("203.0.113.7:9")
    assert [slots.take(f"127.0.0.1:{port}") for port in range(3)] == [True, True, False]  # total


async def test_large_frames_of_many_peers_stay_within_the_budget_and_an_honest_peer_syncs() -> None:
    genesis = recent_genesis()
    budget = 2**20
    transport = TcpTransport(
        max_frame_bytes=budget // 2, receive_budget=budget, small_frame_bytes=2**16
    )
    async with trio.open_nursery() as nursery:
        async with tcp_node(genesis, nursery, blocks=12, transport=transport) as source:
            attackers = [await authenticated_peer(source, genesis, i) for i in range(8)]
            for conn in attackers:  # each announces a frame of the largest size, sends half
                nursery.start_soon(send_half_a_frame, conn, budget // 2)
            with trio.fail_after(DEADLINE):
                while transport.budget.large_used < transport.budget.large_total:
                    await trio.sleep(0.01)
            host, port = listening(source)
            async with tcp_node(genesis, nursery, bootnodes=(f"{host}:{port}",)) as follower:
                with trio.fail_after(DEADLINE * 3):
                    while follower.chain.head.number < 12:
                        await trio.sleep(0.05)
            assert transport.budget.peak <= budget
            assert len(source.network.peers) >= 8  # type: ignore[union-attr]
        nursery.cancel_scope.cancel()


def test_the_largest_block_any_parameters_allow_fits_one_frame() -> None:
    """A block travels whole in a BLOCK or BLOCKS frame, so no parameter set may allow a block
    the frame limit would refuse: the network could never carry it (it used to allow 64 MiB
    blocks in 16 MiB frames)."""
    with pytest.raises(InvalidParameters, match="max_block_bytes"):
        WSCParams.preset("minimal").replace(max_block_bytes=MAX_BLOCK_BYTES + 1)
    assert WSCParams.preset("minimal").replace(max_block_bytes=MAX_BLOCK_BYTES)
    block = b"\x00" * MAX_BLOCK_BYTES
    for message in (m.NewBlock(block), m.Blocks(2**64 - 1, [block])):
        assert len(m.encode_message(message)) <= MAX_FRAME_BYTES
