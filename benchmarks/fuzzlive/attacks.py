"""The attack kinds, each an async function of the arena and its own seeded generator,
registered with its weight in the mix; and the eclipse, run once by the campaign.

- random_bytes: a TCP connection carrying random bytes;
- oversized_prefix: a length prefix over the frame limit, or one under it followed by
  `--prefix-mib` MiB of body, before any handshake;
- half_open: 8 to 32 connections that send nothing or half a HELLO and wait;
- mutated_frames: a real handshake (a fresh key per fake peer), then mutated frames;
- confusion: BLOCKS answering GET_PEERS, PEERS answering GET_BLOCKS, unsolicited or
  misnumbered responses;
- poisoned_addresses: a HELLO listen address and a PEERS list no node should dial;
- side_blocks: blocks on a recent canonical block, signed by an arbitrary key;
- rpc_mutation: JSON-RPC bodies with huge numbers, deep nesting, wrong types, big batches;
- raw_tx_mutation: mutated transactions through por_sendRawTransaction;
- eclipse: fake peers holding every slot while the honest peer (node2) restarts.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from fuzzlive.lab import RPC_ERRORS, NodeHandle, call
from fuzzlive.mutations import (
    mutated_frame,
    poisoned_address,
    raw_transaction,
    rpc_body,
    rpc_request,
    side_block,
)
from fuzzlive.wire import (
    HANDSHAKE_SECONDS,
    HOLD_SECONDS,
    FakePeer,
    Responder,
    Tally,
    Target,
    fresh_key,
    polite,
    post_and_count,
    raw_connection,
    run_fake,
)
from porchain.crypto.keys import PrivateKey
from porchain.net import messages as m
from porchain.net.transport import MAX_FRAME_BYTES
from porchain.types.records import Record

RECONNECT_GRACE = 10.0  # after the honest peer is back up, for the two to find each other


@dataclass
class Arena:
    """What every attack gets: the tally to count in, the target's view and its node."""

    tally: Tally
    target: Target
    node: NodeHandle
    prefix_bytes: int  # the body after an in-limit length prefix


Attack = Callable[[Arena, random.Random], Awaitable[None]]
ATTACKS: dict[str, Attack] = {}
WEIGHTS: dict[str, int] = {}  # attack -> weight in the mix


def attack(weight: int) -> Callable[[Attack], Attack]:
    def register(fn: Attack) -> Attack:
        ATTACKS[fn.__name__], WEIGHTS[fn.__name__] = fn, weight
        return fn

    return register


# -- P2P attacks -----------------------------------------------------------------------------


@attack(2)
async def random_bytes(a: Arena, rng: random.Random) -> None:
    payload = rng.randbytes(rng.randint(1, 4096))
    await raw_connection(a.tally, "random_bytes", a.target, payload, HOLD_SECONDS)


@attack(1)
async def oversized_prefix(a: Arena, rng: random.Random) -> None:
    if rng.random() < 0.5:
        size = rng.choice((MAX_FRAME_BYTES + 1, 2**31, 2**32 - 1))
        payload = size.to_bytes(4, "big")
    else:  # within the limit, and a body the node must buffer before it can judge it
        payload = MAX_FRAME_BYTES.to_bytes(4, "big") + b"\x00" * a.prefix_bytes
    await raw_connection(a.tally, "oversized_prefix", a.target, payload, HOLD_SECONDS)


@attack(1)
async def half_open(a: Arena, rng: random.Random) -> None:
    """Many connections at once that never finish a handshake."""
    hello = m.encode_message(a.target.hello(fresh_key(rng)))
    half = len(hello).to_bytes(4, "big") + hello[: len(hello) // 2]
    async with trio.open_nursery() as nursery:
        for _ in range(rng.randint(8, 32)):
            payload = rng.choice((b"", half))
            nursery.start_soon(
                raw_connection, a.tally, "half_open", a.target, payload, HOLD_SECONDS
            )


@attack(3)
async def mutated_frames(a: Arena, rng: random.Random) -> None:
    frames = [mutated_frame(rng, a.target) for _ in range(rng.randint(1, 6))]
    await run_fake(a.tally, "mutated_frames", a.target, rng, frames)


def confused(rng: random.Random) -> Responder:
    """Answers of the wrong type, or of the right type with another request id."""
    swap = rng.random() < 0.7

    def respond(message: Record) -> list[Record | bytes]:
        if isinstance(message, m.GetPeers | m.GetBlocks):
            rid = message.request_id if swap else message.request_id + rng.randint(1, 9)
            if isinstance(message, m.GetPeers) == swap:
                return [m.Blocks(rid, [rng.randbytes(rng.randint(0, 64))])]
            return [m.Peers(rid, [b"127.0.0.1:1"])]
        return []

    return respond


@attack(2)
async def confusion(a: Arena, rng: random.Random) -> None:
    """A head above the node's, so it asks us for blocks; its requests get confused answers,
    and some unasked responses come first."""
    unasked = [
        m.encode_message(rng.choice((m.Blocks, m.Peers))(rng.randint(0, 2**32), []))
        for _ in range(rng.randint(0, 3))
    ]
    bonus = rng.randint(1, 50)
    await run_fake(
        a.tally, "confusion", a.target, rng, unasked, head_bonus=bonus, respond=confused(rng)
    )


@attack(1)
async def poisoned_addresses(a: Arena, rng: random.Random) -> None:
    addresses = [poisoned_address(rng) for _ in range(rng.randint(1, 64))]

    def respond(message: Record) -> list[Record | bytes]:
        if isinstance(message, m.GetPeers):
            return [m.Peers(message.request_id, addresses)]
        return polite(message)

    listen = poisoned_address(rng)
    await run_fake(a.tally, "poisoned_addresses", a.target, rng, [], listen=listen, respond=respond)


@attack(1)
async def side_blocks(a: Arena, rng: random.Random) -> None:
    number = max(0, a.target.head_number - rng.randint(2, 6))
    try:
        parent = await call(a.node, "por_getBlockByNumber", number)
    except RPC_ERRORS:
        parent = None
    if parent is None:
        a.tally.add("side_blocks", "skipped")
        return
    blocks = [side_block(rng, a.target, parent) for _ in range(rng.randint(1, 3))]
    frames = [m.encode_message(m.NewBlock(b.encode())) for b in blocks]
    a.tally.add("side_blocks", "bytes", sum(map(len, frames)))
    await run_fake(a.tally, "side_blocks", a.target, rng, frames, respond=polite)


# -- RPC attacks -----------------------------------------------------------------------------


@attack(3)
async def rpc_mutation(a: Arena, rng: random.Random) -> None:
    await post_and_count(a.tally, "rpc_mutation", a.target, rpc_body(rng))


@attack(2)
async def raw_tx_mutation(a: Arena, rng: random.Random) -> None:
    body = rpc_request(rng, "por_sendRawTransaction", [raw_transaction(rng, a.target)])
    await post_and_count(a.tally, "raw_tx_mutation", a.target, body.encode())


# -- the eclipse -----------------------------------------------------------------------------


@dataclass
class Eclipse:
    """Fake peers that keep every slot of the target taken while the honest peer restarts."""

    peers: int
    seconds: float
    restart: Callable[[], None]  # blocking: the honest peer's restart, until it answers RPC
    honest_seen: Callable[[], Awaitable[bool]]  # the target has the honest peer again
    honest_back_after: float | None = None  # seconds from its restart until the target has it
    honest_down_until: float = 0.0  # trio time: the honest peer is restarting (samples skipped)

    def restarting(self) -> bool:
        return trio.current_time() < self.honest_down_until

    def cut_short(self) -> None:
        """The attack ended, perhaps during the restart: the grace from now at most."""
        self.honest_down_until = min(self.honest_down_until, trio.current_time() + RECONNECT_GRACE)


async def eclipse(a: Arena, rng: random.Random, state: Eclipse) -> None:
    with trio.move_on_after(state.seconds):
        async with trio.open_nursery() as nursery:
            for _ in range(state.peers):
                nursery.start_soon(eclipse_peer, a, fresh_key(rng), state.seconds)
            await trio.sleep(HANDSHAKE_SECONDS)  # the fakes take their slots first
            state.honest_down_until = trio.current_time() + 3600
            # not abandoned on cancellation: the restart ends (the lab halted) before we do
            await trio.to_thread.run_sync(state.restart)
            back = trio.current_time()
            state.honest_down_until = back + RECONNECT_GRACE
            while not await state.honest_seen():
                await trio.sleep(1)
            state.honest_back_after = round(trio.current_time() - back, 1)
            await trio.sleep_forever()


async def eclipse_peer(a: Arena, key: PrivateKey, seconds: float) -> None:
    """Connect and hold; reconnect whenever the node drops us (as an attacker would)."""
    while True:
        peer = await FakePeer.connect(a.target, a.target.hello(key), key)
        a.tally.add("eclipse", "attempts")
        if peer is None:
            a.tally.add("eclipse", "refused")
            await trio.sleep(1)
            continue
        a.tally.add("eclipse", await peer.watch(seconds, polite))
        await trio.sleep(0.5)
