"""Node plugins (`porchain.plugins`): the node calls their hooks, and one that raises is logged
without stopping the node."""

from __future__ import annotations

import dataclasses

import pytest

from porchain.builder import build_block
from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.consensus.slots import scheduled_producer
from porchain.errors import InvalidBlock
from porchain.node import Node, NodeConfig
from porchain.plugins import NodePlugin
from tests.factories import GENESIS_TIME_MS, KEYS, make_genesis, new_chain

ME, RIVAL = KEYS[0], KEYS[1]
SLOT_MS = 100


class Recorder(NodePlugin):
    name = "recorder"

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        self.calls: list[tuple[str, object]] = []

    def on_slot(self, slot: int) -> None:
        self.calls.append(("slot", slot))

    def on_new_head(self, head) -> None:
        self.calls.append(("head", head.number))

    def on_equivocation(self, found) -> None:
        self.calls.append(("equivocation", found.slot))

    def on_invalid_block(self, block, error) -> None:
        self.calls.append(("invalid", block.number))


class Broken(NodePlugin):
    name = "broken"

    def on_new_head(self, head) -> None:
        raise RuntimeError("a bug in the plugin")


@pytest.fixture
def chain() -> Chain:
    alloc = {k: {"balance": "1000", "rep_encumbered": "100"} for k in (ME, RIVAL)}
    return new_chain(make_genesis(alloc))


def make_node(chain: Chain, *plugins: type[NodePlugin]) -> Node:
    clock = SlotClock(GENESIS_TIME_MS, SLOT_MS, offset_ms=GENESIS_TIME_MS)
    node = Node(chain, clock, key=ME, config=NodeConfig(rpc_port=None, produce=False), plugins=[])
    node.plugins = [plugin(node) for plugin in plugins]
    return node


def rival_slot(chain: Chain, after: int = 0) -> int:
    return next(
        s
        for s in range(after + 1, after + 200)
        if scheduled_producer(chain.state(), s, chain.rules) == RIVAL.address
    )


async def test_hooks_see_slots_heads_equivocations_and_invalid_blocks(chain: Chain) -> None:
    node = make_node(chain, Broken, Recorder)
    recorder = node.plugins[1]
    slot = rival_slot(chain)
    block = build_block(chain.state(), chain.head, slot, RIVAL, [], chain.rules).block
    twin = dataclasses.replace(block.header, extra=b"twin")
    second = dataclasses.replace(block, header=twin.signed(RIVAL))

    node.import_block(block)  # Broken raises first: logged, and Recorder still runs
    node.import_block(second)
    later = rival_slot(chain, slot)
    child = build_block(chain.state(), chain.head, later, RIVAL, [], chain.rules).block
    broken_root = dataclasses.replace(child.header, state_root=b"\x01" * 32)
    invalid = dataclasses.replace(child, header=broken_root.signed(RIVAL))
    with pytest.raises(InvalidBlock):
        node.import_block(invalid)
    node.on_slot(slot + 1)

    assert recorder.calls[0] == ("head", 1)  # and ("head", 1) again if the twin wins
    assert [call for call in recorder.calls if call[0] != "head"] == [
        ("equivocation", slot),
        ("invalid", 2),
        ("slot", slot + 1),
    ]
