"""The in-memory transport on virtual time: frames arrive at their due time, in order, bounded;
closing ends the stream after what was sent; a peer's direct sends never overtake its queue."""

from __future__ import annotations

import trio
import trio.testing

from porchain.net import messages as m
from porchain.net.memory import CHANNEL_FRAMES, MemoryNetwork
from porchain.net.peer import Peer
from porchain.net.transport import Connection, ConnectionClosed
from tests.factories import peer_hello


async def connected(network: MemoryNetwork, nursery: trio.Nursery) -> tuple[Connection, Connection]:
    accepted: list[Connection] = []

    async def keep(conn: Connection) -> None:
        accepted.append(conn)
        await trio.sleep_forever()

    await nursery.start(network.transport("b:1").listen, "b:1", keep)
    ours = await network.transport("a:1").connect("b:1")
    await trio.testing.wait_all_tasks_blocked()
    return ours, accepted[0]


async def test_frames_arrive_at_their_due_time_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        ours, theirs = await connected(MemoryNetwork(latency=0.25), nursery)
        start = trio.current_time()
        assert ours.send_nowait(b"one")
        await trio.sleep(0.1)
        await ours.send(b"two")
        arrivals = [(await theirs.receive(), trio.current_time() - start) for _ in range(2)]
        assert arrivals == [(b"one", 0.25), (b"two", 0.35)]
        nursery.cancel_scope.cancel()


async def test_a_full_link_refuses_direct_sends_and_holds_waiting_ones(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        ours, theirs = await connected(MemoryNetwork(latency=0.01), nursery)
        for i in range(CHANNEL_FRAMES):
            assert ours.send_nowait(i.to_bytes(2, "big"))
        assert not ours.send_nowait(b"over")
        sent = trio.Event()

        async def send_last() -> None:
            await ours.send(b"last")
            sent.set()

        nursery.start_soon(send_last)
        await trio.testing.wait_all_tasks_blocked()
        assert not sent.is_set()  # a slow reader slows its sender
        received = [await theirs.receive() for _ in range(CHANNEL_FRAMES + 1)]
        assert received[0] == b"\x00\x00" and received[-1] == b"last"
        assert sent.is_set()
        nursery.cancel_scope.cancel()


async def test_closing_delivers_what_was_sent_then_ends_the_stream(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        ours, theirs = await connected(MemoryNetwork(latency=0.2), nursery)
        await ours.send(b"farewell")
        await ours.aclose()
        assert await theirs.receive() == b"farewell"
        try:
            await theirs.receive()
        except ConnectionClosed:
            pass
        else:
            raise AssertionError("the stream did not end")
        assert not theirs.send_nowait(b"late")
        nursery.cancel_scope.cancel()


async def test_a_waiting_reader_is_woken_when_its_link_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        ours, theirs = await connected(MemoryNetwork(), nursery)
        ended = []

        async def read() -> None:
            try:
                await theirs.receive()
            except ConnectionClosed:
                ended.append(trio.current_time())

        nursery.start_soon(read)
        await trio.sleep(3)
        await ours.aclose()
        await trio.testing.wait_all_tasks_blocked()
        assert ended == [trio.current_time()]
        nursery.cancel_scope.cancel()


async def test_a_peers_direct_sends_never_overtake_its_queued_frames(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        ours, theirs = await connected(MemoryNetwork(latency=0.01), nursery)
        peer = Peer(ours, peer_hello(), outbound=True)
        for nonce in range(CHANNEL_FRAMES + 10):  # past the link's room: the rest is queued
            assert peer.send(m.Ping(nonce))
        nursery.start_soon(peer.run_writer)
        nonces = []
        for _ in range(CHANNEL_FRAMES + 10):
            message = m.decode_message(await theirs.receive())
            assert isinstance(message, m.Ping)
            nonces.append(message.nonce)
            if len(nonces) == 5:
                assert peer.send(m.Ping(10_000))  # the writer still holds frames: queued too
        assert nonces == list(range(CHANNEL_FRAMES + 10))
        assert m.decode_message(await theirs.receive()) == m.Ping(10_000)
        nursery.cancel_scope.cancel()
