"""A single node on the minimal preset with its real services for 200 slots, counted from its
first block (the clock runs from genesis, and starting takes a loaded machine a while): every
block pool resolves, REP is minted and paid out, finality keeps within pool duration + 2 blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from porchain.params import WSCParams
from tests.procs import NodeProcess, processes, run_cli, run_json, wait_for

pytestmark = pytest.mark.slow

SLOTS = 200


def test_single_node_runs_pools_and_finality(tmp_path: Path) -> None:
    datadir = tmp_path / "node"
    run_json(datadir, "keys", "new", "--name", "p1", "--light")
    run_cli(datadir, "genesis", "new", "--producer", "p1", "--preset", "minimal")
    run_cli(datadir, "init")
    duration = WSCParams.preset("minimal").block_pool_duration
    lags = []
    with processes() as procs:
        node = NodeProcess(procs, datadir, "--key", "p1")
        first_slot = wait_for(
            lambda: (block := node.rpc.call("por_getBlockByNumber", 1)) and block["slot"],
            "the first block",
        )

        def sample() -> bool:
            info = node.rpc.call("por_nodeInfo")
            head, finalized = info["head"]["number"], info["finalized"]["number"]
            if head > duration + 2:
                lags.append(head - finalized)
            return info["head"]["slot"] >= first_slot + SLOTS

        wait_for(sample, f"slot {SLOTS}", timeout=120)
        pools = run_json(datadir, "chain", "pools", "--limit", "500", "--rpc", node.url)
        supply = node.rpc.call("por_getSupply")
        status = run_json(datadir, "rep", "status", "p1", "--rpc", node.url)
        assert node.stop() == 0

    assert lags and max(lags) <= duration + 2, lags
    block_pools = {p["block_number"]: p for p in pools if p["kind"] == "block"}
    head = max(block_pools)  # the head when the pools were listed
    assert head >= 150 and set(block_pools) == set(range(1, head + 1))
    for pool in block_pools.values():
        if pool["closes_at"] < head:  # resolved at block closes_at + 1
            assert pool["status"] == "accepted", pool
            assert int(pool["author_minted"]) > 0
            assert any(s["side"] == "for" and not s["bond"] for s in pool["stakes"]), pool
        else:
            assert pool["status"] == "open"
    assert int(supply["rep_minted"]) > 0
    assert int(supply["rep_pooled"]) > 0  # the pools still open hold their minted shares
    owned_and_pooled = int(supply["rep"]) + int(supply["rep_pooled"])
    assert owned_and_pooled == 1000 * 10**9 + int(supply["rep_minted"]) - int(supply["rep_burned"])
    assert int(status["rep"]) > 0  # rewards and minted shares are free REP
