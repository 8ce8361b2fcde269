"""A live node's message handlers, fuzzed over the memory transport (issue 10, the harness).

Two honest producers run on trio's mock clock. Each example is a peer that passes a real
handshake with a key of its own, then sends a drawn sequence of frames: valid messages of every
type with arbitrary fields, answers to no request, answers of the wrong type or id to the node's
real GET_PEERS and GET_BLOCKS, real blocks mutated, oversized lists, mutated bytes, garbage. The
property: the node answers, drops or bans the peer, never logs an error or lets an exception
escape, and afterwards still produces, with its honest peer connected and in agreement; at the
end a new node still syncs the whole chain from it.

The examples share one network (a fresh one per example would cost a second each): hypothesis
draws in a worker thread while the virtual clock is frozen, and each example runs in the trio
thread with the clock jumping again.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from dataclasses import dataclass, field, replace
from typing import Any

import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from porchain.errors import PeerMisbehaved
from porchain.net import messages as m
from porchain.net.peer import handshake, new_hello
from porchain.net.transport import Connection, ConnectionClosed
from porchain.types.blocks import Block
from tests.factories import key
from tests.fuzz.strategies import SHORT_BYTES, UINTS, blocks, fuzz_settings, records
from tests.netsim import Sim, address, network_genesis, simulation

EXAMPLES = 30
TARGET = 0  # the node under attack; node 1 is its honest peer
SETTLE = 0.3  # virtual seconds the node has to react to the last frame
HEALTHY_WITHIN = 5.0  # virtual seconds to show a new block and agreement after an example
SYNC_WITHIN = 15.0  # virtual seconds for a new node to sync the chain at the end

MESSAGE_TYPES = list(m.PAYLOADS.values())
BLOCK_FIELDS = (
    "number",
    "slot",
    "parent_hash",
    "state_root",
    "tx_root",
    "wsc_id",
    "extra",
    "bytes",
)

# -- what a fuzz peer sends --------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    frame: bytes


@dataclass(frozen=True)
class Announce:
    """STATUS with a head far above ours, so the node asks us for blocks."""

    head_hash: bytes


@dataclass(frozen=True)
class Answer:
    """Answer the node's next request of type `asked` (if it makes one within a second)."""

    asked: type
    kind: type  # the answer's type: the right one or another
    id_offset: int  # 0: the request's id
    content: str  # what goes in the answer's list
    seed: int


@dataclass(frozen=True)
class RealBlock:
    """One of the node's canonical blocks, a header field changed, re-signed by our key or not
    at all, or its bytes mutated."""

    number: int
    change: str
    value: Any
    resign: bool
    seed: int


@dataclass(frozen=True)
class Flood:
    kind: type
    count: int


@dataclass(frozen=True)
class Wait:
    seconds: float


def mutate(raw: bytes, seed: int) -> bytes:
    """`raw` with a few random defects (python's random, seeded: the example reproduces)."""
    rnd = random.Random(seed)
    data = bytearray(raw)
    for _ in range(rnd.randint(1, 3)):
        at = rnd.randint(0, len(data))
        choice = rnd.randrange(4)
        if choice == 0 and data:
            data[min(at, len(data) - 1)] ^= 1 << rnd.randrange(8)
        elif choice == 1:
            del data[at:]
        elif choice == 2:
            data[at:at] = rnd.randbytes(rnd.randint(1, 4))
        else:
            del data[at : at + rnd.randint(1, 4)]
    return bytes(data)


FRAMES = st.one_of(
    st.sampled_from(MESSAGE_TYPES).flatmap(records).map(m.encode_message),
    st.tuples(st.sampled_from(MESSAGE_TYPES).flatmap(records), st.integers()).map(
        lambda pair: mutate(m.encode_message(pair[0]), pair[1])
    ),
    blocks().map(lambda b: m.encode_message(m.NewBlock(b.encode()))),
    st.binary(max_size=64),
)
ACTIONS = st.one_of(
    FRAMES.map(Send),
    st.binary(min_size=32, max_size=32).map(Announce),
    st.builds(
        Answer,
        st.sampled_from([m.GetPeers, m.GetBlocks]),
        st.sampled_from([m.Peers, m.Blocks]),
        st.sampled_from([0, 0, 1, -1, 2**63]),
        st.sampled_from(["empty", "addresses", "real blocks", "mutated blocks", "garbage"]),
        st.integers(),
    ),
    st.builds(
        RealBlock,
        st.integers(0, 30),
        st.sampled_from(BLOCK_FIELDS),
        st.one_of(UINTS, SHORT_BYTES, st.binary(min_size=32, max_size=32)),
        st.booleans(),
        st.integers(),
    ),
    st.builds(Flood, st.sampled_from([m.Txs, m.Peers, m.Blocks]), st.integers(100, 5000)),
    st.floats(0, 1.5).map(Wait),
)


# -- running an example ------------------------------------------------------------------------


@dataclass
class Attacker:
    sim: Sim
    conn: Connection
    fuzz_key: Any
    asked: list[m.GetPeers | m.GetBlocks] = field(default_factory=list)

    @property
    def chain(self):  # type: ignore[no-untyped-def]
        return self.sim.nodes[TARGET].chain

    async def read(self) -> None:
        """Read everything the node sends (so its writer never waits), noting its requests."""
        try:
            while True:
                message = m.decode_message(await self.conn.receive())
                if isinstance(message, m.GetPeers | m.GetBlocks):
                    self.asked.append(message)
        except (ConnectionClosed, PeerMisbehaved):
            pass

    async def act(self, action: Any) -> None:
        match action:
            case Send(frame):
                await self.conn.send(frame)
            case Announce(head_hash):
                await self.send(m.Status(10**6, head_hash, 0))
            case Answer():
                await self.answer(action)
            case RealBlock():
                await self.conn.send(m.encode_message(m.NewBlock(self.real_block(action))))
            case Flood(kind, count):
                items = [bytes([i % 256]) for i in range(count)]
                await self.send(kind(items) if kind is m.Txs else kind(1, items))
            case Wait(seconds):
                await trio.sleep(seconds)

    async def send(self, message: Any) -> None:
        await self.conn.send(m.encode_message(message))

    async def answer(self, action: Answer) -> None:
        with trio.move_on_after(1):
            while not any(isinstance(r, action.asked) for r in self.asked):
                await trio.sleep(0.01)
        request = next((r for r in self.asked if isinstance(r, action.asked)), None)
        if request is None:
            return
        self.asked.remove(request)
        request_id = (request.request_id + action.id_offset) % 2**64
        await self.send(action.kind(request_id, self.answer_items(action, request)))

    def answer_items(self, action: Answer, request: Any) -> list[bytes]:
        rnd = random.Random(action.seed)
        start = getattr(request, "start", 1)
        real = [
            b.encode()
            for n in range(start, start + rnd.randint(0, 8))
            if (b := self.chain.get_block_by_number(n)) is not None
        ]
        match action.content:
            case "addresses":
                return [rnd.choice([b"a:1", b"\xff:1", b"x" * 300, b"h:0", b"node1:30400"])]
            case "real blocks":
                return real
            case "mutated blocks":
                return [mutate(raw, rnd.getrandbits(32)) for raw in real]
            case "garbage":
                return [rnd.randbytes(rnd.randint(0, 40)) for _ in range(rnd.randint(1, 5))]
        return []

    def real_block(self, action: RealBlock) -> bytes:
        block = self.chain.get_block_by_number(min(action.number, self.chain.head.number))
        if action.change == "bytes":
            return mutate(block.encode(), action.seed)
        value = action.value
        if action.change in ("number", "slot", "wsc_id"):
            value = value if isinstance(value, int) else len(value)
        elif isinstance(value, int) or (action.change != "extra" and len(value) != 32):
            value = value.to_bytes(32, "big") if isinstance(value, int) else value.ljust(32)[:32]
        header = replace(block.header, **{action.change: value})
        if action.resign:
            header = header.signed(self.fuzz_key)
        return Block(header, block.transactions).encode()


class ErrorLog(logging.Handler):
    """The porchain log records at ERROR and above: a peer's data must never cause one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def report(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


async def attack(sim: Sim, actions: list[Any], fuzz_key: Any) -> None:
    target = sim.nodes[TARGET]
    conn = await sim.network.transport("fuzz:1").connect(address(TARGET))
    hello = new_hello(
        chain_id=target.chain.state().chain.chain_id,
        genesis_hash=target.chain.genesis_hash,
        head_number=0,
        head_hash=target.chain.genesis_hash,
        finalized=0,
        node_id=fuzz_key.address,
    )
    with trio.fail_after(5):
        await handshake(conn, hello, fuzz_key)
    attacker = Attacker(sim, conn, fuzz_key)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(attacker.read)
        try:
            for action in actions:
                await attacker.act(action)
        except ConnectionClosed:
            pass  # dropped or banned: a fine outcome
        await trio.sleep(SETTLE)
        nursery.cancel_scope.cancel()
    await conn.aclose()


async def healthy(sim: Sim) -> None:
    """The node produces a new block, its honest peer connected and agreeing with it."""
    target, honest = sim.nodes[TARGET], sim.nodes[1 - TARGET]
    before = target.chain.head.number
    with trio.fail_after(HEALTHY_WITHIN):
        while not (
            target.chain.head.number > before
            and target.network.node_id in honest.network.peers
            and target.chain.head.hash == honest.chain.head.hash
        ):
            await trio.sleep(0.05)


def test_a_node_survives_any_frame_sequence_from_a_peer() -> None:
    clock = trio.testing.MockClock(autojump_threshold=0)
    errors = ErrorLog()
    logging.getLogger("porchain").addHandler(errors)
    try:
        trio.run(campaign, clock, errors, clock=clock)
    finally:
        logging.getLogger("porchain").removeHandler(errors)


async def campaign(clock: trio.testing.MockClock, errors: ErrorLog) -> None:
    async with simulation(network_genesis(2)) as sim:
        for i in range(2):
            await sim.start_node(i)
        await trio.sleep(2.05)
        token = trio.lowlevel.current_trio_token()
        identities = itertools.count(10_000)

        async def example(actions: list[Any]) -> None:
            clock.autojump_threshold = 0
            errors.records.clear()  # each example answers for its own
            try:
                await attack(sim, actions, key(next(identities)))  # never banned before
                await healthy(sim)
            finally:
                clock.autojump_threshold = math.inf  # time stands still while hypothesis draws
            assert not errors.records, errors.report()

        @fuzz_settings(EXAMPLES)
        @given(st.lists(ACTIONS, min_size=1, max_size=8))
        def fuzz(actions: list[Any]) -> None:
            trio.from_thread.run(example, actions, trio_token=token)

        clock.autojump_threshold = math.inf
        await trio.to_thread.run_sync(fuzz)
        clock.autojump_threshold = 0
        late = await sim.start_node(2)  # not a producer: it only syncs
        with trio.fail_after(SYNC_WITHIN):
            while late.chain.head.number < sim.nodes[TARGET].chain.head.number - 2:
                await trio.sleep(0.1)
        assert not errors.records, errors.report()
