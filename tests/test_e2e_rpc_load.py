"""End to end: a real node flooded with its heaviest RPC queries still fills every slot.

The missed slots are read off the chain (slots with no canonical block), not timed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from benchmarks.rpc_load import Load, chain_report, fill_forum, heavy_batch, slot_window
from porchain.rpc.params import MAX_LIST
from tests.procs import NodeProcess, processes

pytestmark = pytest.mark.slow

POSTS = 1000  # each opens a pool: lists at their limit are then heavy
FLOOD_SLOTS = 20
HEAVY_CLIENTS = 4


def test_a_flood_of_heavy_queries_costs_no_slot(tmp_path: Path) -> None:
    datadir = tmp_path / "node"
    datadir.mkdir()
    with processes() as procs:
        node = NodeProcess(procs, datadir, "--dev")
        fill_forum(node.rpc, node.datadir, POSTS)
        producer = node.rpc.call("por_nodeInfo")["producer"]
        slot_seconds = node.rpc.call("por_getParams")["params"]["slot_ms"] / 1000
        load = Load(node.url)
        start = slot_window(node.rpc)
        body = heavy_batch(100, MAX_LIST, producer)
        trio.run(load.run, FLOOD_SLOTS * slot_seconds, 0, HEAVY_CLIENTS, body)
        end = slot_window(node.rpc)
        report = chain_report(node.rpc, start, end)
        assert load.heavy["batches"] > 0, "the flood got no answer at all"
        assert report["slots"] >= FLOOD_SLOTS and report["missed_slots"] == 0, report
