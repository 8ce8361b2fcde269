"""End to end (issue 16): a fifth node joins a running devnet from a snapshot two of its three
authorities signed, instead of replaying the chain; it follows the head, its state root is the
others' at every height after the snapshot, and it fetches the headers below it back to genesis.
Then a devnet node is restarted afresh from the same snapshot, and rejoins.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from porchain.crypto.keys import parse_address
from porchain.rpc.client import RPCClient
from porchain.snapshot.trustnet import TrustNet
from tests.procs import NodeProcess, processes, run_cli, run_json, wait_for
from tests.test_e2e_devnet import (
    devnet,
    devnet_root,  # noqa: F401 -- the fixture
    nodes,
)

pytestmark = pytest.mark.slow

BLOCKS = 300
SLOT_MS = 150
FAST4 = f"""
preset = "minimal"
[wsc]
slot_ms = {SLOT_MS}
""" + "".join(f'[[node]]\nname = "node{i}"\nrep = "1000"\n' for i in range(1, 5))
CHAIN_SECONDS = 600.0  # 300 blocks are 45 s of slots; a loaded machine misses some
MORE_BLOCKS = 20  # compared after the fifth node is in step


def final_everywhere(root: Path) -> dict[str, dict[str, Any]] | None:
    current = nodes(root)
    return current if all((n["finalized"] or 0) >= BLOCKS for n in current.values()) else None


def sign(root: Path, name: str, path: Path, url: str) -> dict[str, Any]:
    """An authority (the devnet node's operator, with its producer key) signs, after checking
    the snapshot's block on its own node."""
    password = root / name / "password"
    args = ["--key", "producer", "--password-file", str(password), "--rpc", url]
    return run_json(root / name, "snapshot", "sign", str(path), *args, "-o", "json")


def state_root(url: str, number: int) -> str | None:
    block = RPCClient(url).call("por_getBlockByNumber", number)
    return None if block is None else block["state_root"]


def in_step(node: RPCClient, url: str) -> int | None:
    """The fifth node's head, once it is within 2 blocks of the devnet's and on its chain."""
    head = node.call("por_getBlockByNumber", "latest")
    other = RPCClient(url).call("por_getBlockByNumber", "latest")
    if head["number"] < other["number"] - 2:
        return None
    theirs = RPCClient(url).call("por_getBlockByNumber", head["number"])
    return head["number"] if theirs is not None and theirs["hash"] == head["hash"] else None


def test_a_fifth_node_joins_from_a_snapshot_signed_by_two_authorities(
    devnet_root: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    root = devnet_root
    manifest = tmp_path / "fast4.toml"
    manifest.write_text(FAST4)
    devnet(root, "up", "--manifest", str(manifest), "--detach")
    running = wait_for(
        lambda: (
            (n := nodes(root)) and all((x["finalized"] or 0) >= BLOCKS for x in n.values()) and n
        ),
        f"{BLOCKS} blocks final on every node",
        timeout=CHAIN_SECONDS,
    )
    url = {name: node["rpc"] for name, node in running.items()}

    made = run_json(root / "node1", "snapshot", "create", "--rpc", url["node1"], "-o", "json")
    assert made["number"] >= BLOCKS and made["entries"] > 0
    path = root / "node1" / "snapshots" / made["name"]  # what node 1 serves
    assert sign(root, "node1", path, url["node1"])["added"]
    assert sign(root, "node2", path, url["node2"])["added"]
    authorities = {parse_address(running[n]["address"]): n for n in ("node1", "node2", "node3")}
    trust = tmp_path / "trustnet.toml"
    trust.write_text(TrustNet(2, authorities).to_toml())
    checked = run_json(root, "snapshot", "verify", str(path), "--trust", str(trust), "-o", "json")
    assert checked["trusted_signers"] == ["node1", "node2"]

    fifth = tmp_path / "node5"
    fifth.mkdir()
    shutil.copyfile(root / "genesis.json", fifth / "genesis.json")
    run_cli(fifth, "init")
    served = f"{url['node1']}/snapshots/latest"
    with processes() as procs:
        args = ["--trustnet", str(trust), "--snapshot", served]
        node5 = NodeProcess(procs, fifth, *args, "--bootnode", running["node1"]["p2p"])
        info = node5.rpc.call("por_nodeInfo")
        assert info["snapshot"]["block"] == made["number"]
        joined = wait_for(lambda: in_step(node5.rpc, url["node1"]), "node5 in step with node1")
        assert joined > made["number"]
        last = node5.wait_for_head(joined + MORE_BLOCKS)

        for number in range(made["number"], last + 1):
            ours = state_root(node5.url, number)
            assert ours is not None, number
            for name in running:
                theirs = wait_for(
                    lambda u=url[name], n=number: state_root(u, n), f"{name} #{number}"
                )
                assert theirs == ours, (name, number)

        wait_for(
            lambda: node5.rpc.call("por_nodeInfo")["snapshot"]["headers_from"] == 0,
            "the headers below the snapshot fetched back to genesis",
        )
        kept = httpx.get(f"{node5.url}/snapshots/latest", timeout=60)
        assert kept.status_code == 200 and kept.content == path.read_bytes()  # it serves it on
        assert "bootstrapped from snapshot" in node5.log()

    # a devnet node reset to rejoin from a peer's snapshot instead of replaying every block
    again = devnet(root, "restart", "node3", "--snapshot", served, "--trustnet", str(trust))
    assert f"node3: chain data replaced by the snapshot of #{made['number']}" in again.stderr
    node3 = RPCClient(url["node3"])
    assert node3.call("por_nodeInfo")["snapshot"]["block"] == made["number"]
    wait_for(lambda: in_step(node3, url["node1"]), "node3 back in step with node1")
