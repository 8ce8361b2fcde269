"""End to end: `porchain devnet` running real node processes connected over loopback.

Every test works in its own temporary --dir; whatever it leaves running (the foreground
controller, any node) is killed by the `devnet_root` fixture, passed or failed. Waits poll for
their condition up to a generous deadline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from porchain.devnet.layout import Devnet, create_devnet
from porchain.devnet.manifest import default_manifest
from porchain.devnet.processes import DOWN, process_state
from porchain.rpc.client import RPCClient
from porchain.units import parse_amount
from tests.procs import DEADLINE_SECONDS, processes, wait_for

pytestmark = pytest.mark.slow

FIRST_BLOCKS_SECONDS = 15.0
PERTURBATIONS_SECONDS = 120.0

FAST4 = """
preset = "minimal"
[wsc]
slot_ms = 200
""" + "".join(f'[[node]]\nname = "node{i}"\nrep = "1000"\n' for i in range(1, 5))


def devnet_cmd(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "porchain", "devnet", "--dir", str(root), *args]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PORCHAIN_PASSWORD": "", "PYTHONUNBUFFERED": "1"}


def devnet(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        devnet_cmd(root, *args),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=2 * DEADLINE_SECONDS,
    )
    if done.returncode != 0:
        raise AssertionError(f"porchain devnet {' '.join(args)} failed:\n{done.stderr}")
    return done


def status(root: Path) -> dict[str, Any]:
    return json.loads(devnet(root, "status", "-o", "json").stdout)


def nodes(root: Path) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in status(root)["nodes"]}


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie nobody reaped yet is gone too
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def kill_leftovers(root: Path) -> None:
    """Whatever a failed test left running in this devnet: the controller, then the nodes."""
    for path in [root / "controller.json", *root.glob("*/node.pid")]:
        try:
            text = path.read_text()
            pid = int(json.loads(text)["pid"] if path.suffix == ".json" else text)
        except (OSError, ValueError, KeyError):
            continue
        named = root if path.suffix == ".json" else path.parent  # on its command line
        if process_state(pid, named) != DOWN:
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def devnet_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "devnet"
    try:
        yield root
    finally:
        subprocess.run(devnet_cmd(root, "down"), capture_output=True, timeout=120, check=False)
        kill_leftovers(root)


def block_hash(url: str, number: int) -> str | None:
    block = RPCClient(url).call("por_getBlockByNumber", number)
    return None if block is None else block["hash"]


def in_step(root: Path, name: str, *, with_node: str = "node1") -> dict[str, Any] | None:
    """The node's status once its head is on `with_node`'s chain and near its head."""
    current = nodes(root)
    node, other = current[name], current[with_node]
    if node["height"] is None or other["height"] is None:
        return None
    if node["height"] < other["height"] - 2:
        return None
    if block_hash(other["rpc"], node["height"]) != node["head_hash"]:
        return None
    return node


def one_chain(root: Path) -> dict[str, dict[str, Any]] | None:
    current = nodes(root)
    if all(in_step(root, name) for name in current):
        return current
    return None


def test_detached_devnet_runs_syncs_transfers_recovers_and_stops(devnet_root: Path) -> None:
    root = devnet_root
    up = devnet(root, "up", "-n", "4", "--preset", "minimal", "--detach", "-o", "json")
    first = json.loads(up.stdout)
    assert [node["name"] for node in first["nodes"]] == ["node1", "node2", "node3", "node4"]
    assert all(node["alive"] for node in first["nodes"])
    pids = {node["pid"] for node in first["nodes"]}

    produced = wait_for(
        lambda: (n := nodes(root)) and all(x["height"] and x["height"] >= 5 for x in n.values()),
        "blocks on every node",
        timeout=FIRST_BLOCKS_SECONDS,
    )
    assert produced
    connected = wait_for(
        lambda: (n := nodes(root)) and all(x["peers"] == 3 for x in n.values()) and n,
        "every node connected to the three others",
    )
    for node in connected.values():
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", node["rpc"])
        assert re.fullmatch(r"127\.0\.0\.1:\d+", node["p2p"])
        assert isinstance(node["height"], int) and node["pid"] in pids
    ports = {node["rpc"] for node in connected.values()} | {n["p2p"] for n in connected.values()}
    assert len(ports) == 8
    assert "node started" in devnet(root, "logs", "node1", "--lines", "0").stdout  # the whole log

    # a transfer sent to node 1 (the accounts datadir points there) reaches node 4
    info = status(root)
    accounts = {account["name"]: account["address"] for account in info["accounts"]}
    transfer = ["tx", "transfer", "bob", "1.5", "--from", "alice", "-o", "json"]
    sent = subprocess.run(
        [sys.executable, "-m", "porchain", "--datadir", info["accounts_datadir"], *transfer],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )
    assert sent.returncode == 0, sent.stderr
    tx_hash = json.loads(sent.stdout)["hash"]
    node4 = RPCClient(connected["node4"]["rpc"])
    wait_for(
        lambda: (tx := node4.call("por_getTransaction", tx_hash)) and tx["status"] == "included",
        "the transfer included, seen by node 4",
    )
    bob = node4.call("por_getAccount", accounts["bob"])
    assert int(bob["balance"]) == parse_amount("1000001.5")

    # node 3 killed, then `up --detach` starts only it again, and it catches up
    killed = connected["node3"]["pid"]
    os.kill(killed, signal.SIGKILL)
    wait_for(lambda: not nodes(root)["node3"]["alive"], "node3 seen down")
    height_at_restart = nodes(root)["node1"]["height"]
    again = devnet(root, "up", "--detach")
    assert "started node3" in again.stderr
    assert "started node1" not in again.stderr and "started node4" not in again.stderr
    caught_up = wait_for(
        lambda: (n := in_step(root, "node3")) and n["height"] > height_at_restart + 5 and n,
        "node3 back on node1's chain",
    )
    assert caught_up["pid"] != killed
    pids.add(caught_up["pid"])

    # `devnet restart NODE` stops and starts one node
    restarted = json.loads(devnet(root, "restart", "node2", "-o", "json").stdout)
    node2 = next(node for node in restarted["nodes"] if node["name"] == "node2")
    assert node2["alive"] and node2["pid"] != connected["node2"]["pid"]
    pids.add(node2["pid"])
    wait_for(lambda: in_step(root, "node2"), "node2 back on node1's chain")

    # `devnet down` leaves nothing running
    down = json.loads(devnet(root, "down", "-o", "json").stdout)
    assert sorted(down["stopped"]) == ["node1", "node2", "node3", "node4"]
    wait_for(lambda: all(gone(pid) for pid in pids | {killed}), "every node process gone", 10)
    assert not any(node["alive"] for node in nodes(root).values())

    # and a devnet started again resumes its chain, with the same ports
    resumed = json.loads(devnet(root, "up", "--detach", "-o", "json").stdout)
    assert [(n["rpc"], n["p2p"]) for n in resumed["nodes"]] == [
        (n["rpc"], n["p2p"]) for n in connected.values()
    ]
    assert min(n["height"] for n in resumed["nodes"]) >= height_at_restart
    devnet(root, "down")


def test_foreground_manifest_kills_and_restarts_a_node(devnet_root: Path, tmp_path: Path) -> None:
    root = devnet_root
    manifest = tmp_path / "kill-restart.toml"
    manifest.write_text(
        FAST4
        + '[[perturbation]]\nat_height = 10\naction = "kill"\nnodes = ["node3"]\n'
        + '[[perturbation]]\nat_height = 25\naction = "restart"\nnodes = ["node3"]\n'
    )
    output = tmp_path / "controller.log"
    with processes() as procs:
        controller = procs.start(devnet_cmd(root, "up", "--manifest", str(manifest)), output)

        def log() -> str:
            if controller.poll() is not None:
                raise AssertionError(f"devnet up exited early:\n{output.read_text()}")
            return output.read_text()

        started = wait_for(
            lambda: (root / "controller.json").exists() and nodes(root), "the devnet up"
        )
        pids = {node["pid"] for node in started.values() if node["pid"]}
        wait_for(
            lambda: "all 2 perturbation(s) applied" in log(),
            "the perturbations",
            timeout=PERTURBATIONS_SECONDS,
        )
        text = log()
        assert "perturbation 1/2: kill node3 at height 10" in text
        assert "node3: killed (pid" in text and "node3: restarted (pid" in text
        assert "failed" not in text
        rejoined = wait_for(lambda: one_chain(root), "node3 on the others' chain")
        assert rejoined["node3"]["height"] > 25
        assert status(root)["controller_pid"] == controller.pid
        pids |= {node["pid"] for node in rejoined.values()}

        assert procs.stop(controller, signal.SIGINT) == 0
    text = output.read_text()
    assert "SIGINT: stopping every node" in text
    assert "stopped 4 node(s)" in text
    wait_for(lambda: all(gone(pid) for pid in pids), "every node process gone", 10)
    final = status(root)
    assert final["controller_pid"] is None
    assert not any(node["alive"] for node in final["nodes"])


def test_foreground_partition_heals_into_one_chain(devnet_root: Path, tmp_path: Path) -> None:
    root = devnet_root
    manifest = tmp_path / "partition.toml"
    manifest.write_text(
        FAST4
        + '[[perturbation]]\nat_height = 10\naction = "partition"\n'
        + 'groups = [["node1", "node2"], ["node3", "node4"]]\n'
        + '[[perturbation]]\nat_height = 40\naction = "heal"\n'  # by height: load-proof
    )
    output = tmp_path / "controller.log"
    with processes() as procs:
        controller = procs.start(devnet_cmd(root, "up", "--manifest", str(manifest)), output)
        wait_for(lambda: "perturbation 1/2: partition" in output.read_text(), "the partition")
        wait_for(lambda: "node4: cut off from node1, node2" in output.read_text(), "the cut")
        # while split, each node keeps only its group's other node as a peer
        split = wait_for(
            lambda: (n := nodes(root)) and all(x["peers"] == 1 for x in n.values()) and n,
            "two halves",
        )
        assert "all 2 perturbation(s) applied" not in output.read_text(), "partition too short"
        assert all(node["alive"] for node in split.values())
        wait_for(
            lambda: "all 2 perturbation(s) applied" in output.read_text(),
            "the heal",
            timeout=PERTURBATIONS_SECONDS,
        )
        assert "failed" not in output.read_text()
        healed = wait_for(
            lambda: (n := one_chain(root)) and all(x["peers"] == 3 for x in n.values()) and n,
            "one chain again, every node connected",
            timeout=PERTURBATIONS_SECONDS,
        )
        pids = {node["pid"] for node in healed.values()}

        down = json.loads(devnet(root, "down", "-o", "json").stdout)  # SIGTERM to `devnet up`
        assert down["controller"] == controller.pid
        assert controller.wait(timeout=DEADLINE_SECONDS) == 0
    assert "stopped 4 node(s)" in output.read_text()
    wait_for(lambda: all(gone(pid) for pid in pids), "every node process gone", 10)


def test_devnet_starts_from_a_checkouts_parent_and_refuses_another_networks_port(
    devnet_root: Path, tmp_path: Path
) -> None:
    """Two defects of one report: nodes died of `ImportError: cannot import name '__version__'`
    when started from a directory holding a `porchain/` checkout; and a devnet whose stored RPC
    port another network had taken said `1/1 nodes up` with that network's height, exit 0."""
    parent = tmp_path / "src"
    (parent / "porchain" / "porchain").mkdir(parents=True)
    (parent / "porchain" / "pyproject.toml").write_text("")
    (parent / "porchain" / "porchain" / "__init__.py").write_text("raise ImportError('fake')\n")
    up = subprocess.run(
        devnet_cmd(devnet_root, "up", "-n", "1", "--preset", "minimal", "--detach", "-o", "json"),
        cwd=parent,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=2 * DEADLINE_SECONDS,
    )
    assert up.returncode == 0, up.stderr
    ours = json.loads(up.stdout)["nodes"][0]
    assert ours["up"] and ours["height"] is not None

    # another devnet whose stored RPC port is now the running one's
    other_root = tmp_path / "other"
    create_devnet(other_root, default_manifest(1, "minimal"))
    stored = json.loads((other_root / "devnet.json").read_text())
    port = int(ours["rpc"].rpartition(":")[2])
    stored["nodes"][0]["rpc_port"] = port
    (other_root / "devnet.json").write_text(json.dumps(stored))
    try:
        refused = subprocess.run(
            devnet_cmd(other_root, "up", "--detach"),
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=2 * DEADLINE_SECONDS,
        )
        assert refused.returncode == 1
        running_genesis = Devnet.load(devnet_root).genesis_hash
        assert refused.stderr.splitlines()[-1].startswith(
            f"Error: cannot start node1: port {port} answers for another network "
            f"(genesis {running_genesis[:10]}.., chain 1337), not devnet "
        )
        assert "nodes up" not in refused.stdout + refused.stderr
        assert not any(node["alive"] for node in nodes(other_root).values())
    finally:
        subprocess.run(devnet_cmd(other_root, "down"), capture_output=True, timeout=120)
        kill_leftovers(other_root)
    assert nodes(devnet_root)["node1"]["up"]  # the running devnet is untouched


# -- attack scenarios (issue 11) ---------------------------------------------------------------

ATTACKS = Path(__file__).resolve().parents[1] / "devnet" / "attacks"
ATTACK_SECONDS = 240.0
RESOLVED_CENSOR_BLOCKS = 5  # the censor's pools that must have resolved before judging


def report(root: Path) -> dict[str, Any]:
    return json.loads(devnet(root, "report", "-o", "json").stdout)


def censor_punished(root: Path) -> dict[str, Any] | None:
    """The report once the censor has enough rejected blocks and every REP has moved."""
    current = report(root)
    producers = {p["node"]: p for p in current["producers"]}
    if len(producers) != 4 or any(p["rep_now"] is None for p in producers.values()):
        return None
    if producers["node4"]["blocks_rejected"] < RESOLVED_CENSOR_BLOCKS:
        return None
    honest_gain = all(signed_amount(producers[f"node{i}"]["rep_change"]) > 0 for i in (1, 2, 3))
    return current if honest_gain else None


def test_censor_rival_votes_scenario_rejects_the_censor_and_moves_rep(devnet_root: Path) -> None:
    root, manifest = devnet_root, ATTACKS / "censor-rival-votes.toml"
    output = devnet_root.parent / "controller.log"
    with processes() as procs:
        controller = procs.start(devnet_cmd(root, "up", "--manifest", str(manifest)), output)
        wait_for(lambda: (root / "controller.json").exists() and nodes(root), "the devnet up")
        shown = {n["name"]: n["behaviour"] for n in nodes(root).values()}
        assert shown["node4"]["name"] == "censor" and shown["node4"]["args"]["rival_votes"]
        assert {shown[f"node{i}"]["name"] for i in (1, 2, 3)} == {"honest"}
        final = wait_for(
            lambda: censor_punished(root), "the censor's blocks rejected", ATTACK_SECONDS
        )
        assert procs.stop(controller, signal.SIGINT) == 0
    (devnet_root.parent / "report.json").write_text(json.dumps(final, indent=2))  # to read
    producers = {p["node"]: p for p in final["producers"]}
    censor = producers["node4"]
    # a block with no rival vote pending to leave out (the first ones) is rightly accepted
    assert censor["blocks_accepted"] < censor["blocks_rejected"]
    assert censor["against_received"] >= 2 * censor["blocks_rejected"]  # honest nodes vote it down
    assert signed_amount(censor["rep_change"]) < 0
    for name in ("node1", "node2", "node3"):
        honest = producers[name]
        assert honest["blocks_rejected"] == 0 and honest["against_received"] == 0
        assert honest["against_cast"] > 0
        assert parse_amount(honest["rep_now"]) > parse_amount(censor["rep_now"])
    censored = final["censored"]
    kinds = {tx["kind"] for tx in censored}  # a VOTE left out takes its sender's later txs
    assert "VOTE" in kinds and kinds <= {"VOTE", "COMMIT", "REVEAL"}
    node4 = next(n for n in final["nodes"] if n["name"] == "node4")
    assert all(tx["from"] != devnet_address(root, "node4") for tx in censored)
    assert node4["behaviour"]["name"] == "censor"
    included = [tx for tx in censored if tx["delay_ms"] is not None]
    assert included and all(tx["delay_ms"] > 0 for tx in included)


def signed_amount(text: str) -> int:
    """A report's REP change, which may be negative."""
    return -parse_amount(text[1:]) if text.startswith("-") else parse_amount(text)


def devnet_address(root: Path, name: str) -> str:
    return Devnet.load(root).node(name).address
