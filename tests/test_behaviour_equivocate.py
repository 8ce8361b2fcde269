"""`equivocate` (PROTOCOL section 13) and the evidence honest nodes keep of it: two valid blocks
one producer signed for one slot, each sent to half the peers, seen by every honest node as two
headers for that slot and kept (porchain.equivocations), on real nodes over the in-memory
network and virtual time (tests/netsim.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest
import trio
import trio.testing

from porchain.behaviours import make_behaviour
from porchain.chain import Chain
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.db import MemoryDB, schema
from porchain.db.level import LevelDB
from porchain.equivocations import (
    Equivocation,
    EquivocationLog,
    is_equivocation,
    kept_equivocations,
)
from porchain.node import Node
from porchain.rpc.dispatch import Dispatcher
from porchain.rpc.limits import RPCLimits
from porchain.rpc.server import rpc_apis
from porchain.types.blocks import Header
from tests.factories import KEYS, build_on_head, keys_by_address, make_genesis, new_chain, resign
from tests.netsim import PRODUCER_KEYS, network_genesis, simulation

SLOT_SECONDS = 0.1  # minimal preset
EQUIVOCATOR = PRODUCER_KEYS[3]


# -- arguments -----------------------------------------------------------------------------------


def test_equivocate_is_registered_with_its_arguments() -> None:
    behaviour = make_behaviour("equivocate", ["from_slot=7", "fraction=0.5", "seed=3"])
    assert behaviour.info() == {
        "name": "equivocate",
        "args": {"from_slot": 7, "fraction": 0.5, "seed": 3},
    }
    assert not behaviour.equivocates_at(6)
    drawn = [slot for slot in range(7, 407) if behaviour.equivocates_at(slot)]
    again = make_behaviour("equivocate", ["from_slot=7", "fraction=0.5", "seed=3"])
    assert drawn == [slot for slot in range(7, 407) if again.equivocates_at(slot)]
    assert 140 <= len(drawn) <= 260  # about half of 400
    everywhere = make_behaviour("equivocate")
    assert all(everywhere.equivocates_at(slot) for slot in range(50))


# -- the evidence store --------------------------------------------------------------------------


def twins(chain: Chain) -> tuple[Header, Header]:
    """Two valid blocks for the next slot of the head, same producer, imported (head, side)."""
    one = build_on_head(chain).block
    other = build_on_head(chain, slot=one.slot, extra=b"twin").block
    first, second = sorted((one, other), key=lambda b: b.hash)  # fork choice keeps the lower
    assert chain.import_block(first).status == "head"
    assert chain.import_block(second).status == "side"
    return first.header, second.header


def test_a_pair_is_kept_once_and_survives_reopening_the_database(tmp_path: Path) -> None:
    db = LevelDB(tmp_path / "db")
    chain = new_chain(make_genesis(), db)
    first, second = twins(chain)
    log = EquivocationLog(db)
    found = log.observe(chain, chain.get_block(second.hash), now_ms=1234)
    assert found is not None and found.headers() == (first, second)
    assert log.observe(chain, chain.get_block(second.hash), now_ms=1300) is None  # kept once
    assert log.observe(chain, chain.get_block(first.hash), now_ms=1300) is None
    db.close()
    reopened = LevelDB(tmp_path / "db")
    log = EquivocationLog(reopened)
    assert log.count == 1
    (kept,) = kept_equivocations(reopened, first.producer)
    assert (kept.producer, kept.slot, kept.seen_at_ms) == (first.producer, first.slot, 1234)
    assert kept.headers() == (first, second)
    assert kept_equivocations(reopened, other_than(first.producer).address) == []
    reopened.close()


def other_than(producer: bytes) -> PrivateKey:
    return next(k for k in KEYS if k.address != producer)


def test_two_blocks_for_one_slot_on_parents_at_different_heights_are_seen() -> None:
    """The producer of slot s signs one block on genesis (height 1) and one on another block
    (height 2): no height holds both, the (slot, producer) index still pairs them."""
    chain = new_chain(make_genesis())
    lower = build_on_head(chain).block  # the first slot after genesis
    later = lower.slot + 1
    on_genesis = build_on_head(chain, slot=later).block
    chain.import_block(lower)
    on_lower = build_on_head(chain, slot=later, extra=b"other parent").block
    assert (on_genesis.number, on_lower.number) == (1, 2)
    log = EquivocationLog(MemoryDB())
    found = []
    for block in (lower, on_genesis, on_lower):
        if block is not lower:
            chain.import_block(block)
        found.append(log.observe(chain, block, now_ms=1))
    assert found[:2] == [None, None]
    assert found[2] is not None and found[2].headers() == (on_genesis.header, on_lower.header)


def test_only_two_different_headers_validly_signed_for_one_slot_count() -> None:
    chain = new_chain()
    first, second = twins(chain)
    block = chain.get_block(second.hash)
    assert block is not None
    signer, other = keys_by_address()[first.producer], other_than(first.producer)
    assert is_equivocation(first, second) and is_equivocation(second, first)
    assert not is_equivocation(first, first)
    assert not is_equivocation(first, resign(block, signer, slot=first.slot + 1).header)
    assert not is_equivocation(first, resign(block, other, producer=other.address).header)
    assert not is_equivocation(first, resign(block, other).header)  # not the producer's signature
    garbled = replace(second, signature=b"\x01" * 65)
    assert not is_equivocation(first, garbled)


def test_the_store_is_bounded_and_prunes_the_lowest_slots() -> None:
    chain = new_chain()
    log = EquivocationLog(chain.db, max_kept=3)
    slots = []
    for _ in range(5):
        first, second = twins(chain)
        assert log.record(first, second, now_ms=0) is not None
        slots.append(first.slot)
    assert log.count == 3
    assert [e.slot for e in kept_equivocations(chain.db)] == slots[:1:-1]  # highest first
    assert [e.slot for e in kept_equivocations(chain.db, limit=2)] == slots[:2:-1]


def test_an_unreadable_record_is_skipped() -> None:
    chain = new_chain()
    first, second = twins(chain)
    log = EquivocationLog(chain.db)
    log.record(first, second, now_ms=0)
    with chain.db.atomic_batch() as batch:
        batch.put(schema.equivocation_key(first.slot + 1, first.producer), b"\xc3garbage")
    assert [e.slot for e in kept_equivocations(chain.db)] == [first.slot]
    assert isinstance(kept_equivocations(chain.db)[0], Equivocation)


# -- on a network --------------------------------------------------------------------------------


async def rpc(node: Node, method: str, *args: object) -> object:
    """Call `method` through the node's own JSON-RPC dispatcher, in process."""
    dispatcher = Dispatcher(node, rpc_apis(node), limits=RPCLimits())
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(args)})
    answer = await dispatcher.handle(body.encode())
    assert answer is not None
    return json.loads(answer)


def equivocated_slots(node: Node, producer: bytes) -> set[int]:
    return {e.slot for e in kept_equivocations(node.chain.db, producer, limit=500)}


async def test_honest_nodes_see_and_keep_both_headers_of_an_equivocation(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="porchain.equivocations")
    async with simulation(network_genesis(4)) as sim:
        for i in range(3):  # the store alone: no whistleblower, so nobody is slashed
            await sim.start_node(i, plugins=[])
        behaviour = make_behaviour("equivocate", ["from_slot=10"])
        await sim.start_node(3, behaviour=behaviour, plugins=[])
        honest = sim.nodes[:3]
        await trio.sleep(120 * SLOT_SECONDS)
        with trio.fail_after(20 * SLOT_SECONDS):  # the last pair reaches everyone
            while len({frozenset(equivocated_slots(n, EQUIVOCATOR.address)) for n in honest}) > 1:
                await trio.sleep(SLOT_SECONDS)
        slots = equivocated_slots(honest[0], EQUIVOCATOR.address)
        assert len(slots) >= 15 and min(slots) >= 10
        for node in honest:
            for kept in kept_equivocations(node.chain.db, EQUIVOCATOR.address, limit=500):
                a, b = kept.headers()
                assert a.slot == b.slot == kept.slot and a.hash != b.hash
                assert a.producer == b.producer == EQUIVOCATOR.address
                assert {a.extra, b.extra} == {b"", b"equivocation"}
                stored = {node.chain.get_block(h.hash) is not None for h in (a, b)}
                canonical = node.chain.get_canonical_hash(a.number) in (a.hash, b.hash)
                assert stored == {True} or canonical  # one may be pruned once final
        warned = [r for r in caplog.records if "equivocation: producer" in r.getMessage()]
        kept = sum(len(equivocated_slots(n, EQUIVOCATOR.address)) for n in sim.nodes)
        assert len(warned) == kept  # once per pair and node (the equivocator learns its own)
        assert all(r.levelno == logging.WARNING for r in warned)
        for i, node in enumerate(honest):  # nobody else equivocated, and the chain went on
            others = [k.address for k in PRODUCER_KEYS[:4] if k != EQUIVOCATOR]
            assert not any(equivocated_slots(node, a) for a in others)
            assert node.chain.head.number >= 90, i
        answer = await rpc(
            honest[0], "por_getEquivocations", to_checksum_address(EQUIVOCATOR.address)
        )
        listed = answer["result"]
        assert [e["slot"] for e in listed] == sorted(slots, reverse=True)[:50]
        first = listed[0]
        assert first["producer"] == to_checksum_address(EQUIVOCATOR.address)
        a, b = first["headers"]
        assert a["slot"] == b["slot"] == first["slot"] and a["hash"] != b["hash"]
        assert Header.decode(bytes.fromhex(b["raw"][2:])).hash.hex() == b["hash"][2:]
        none = await rpc(
            honest[0], "por_getEquivocations", to_checksum_address(PRODUCER_KEYS[0].address)
        )
        assert none["result"] == []
        bad = await rpc(honest[0], "por_getEquivocations", "0x12")
        assert bad["error"]["code"] == -32602 and "address" in bad["error"]["message"]
