"""An accusation on a real multi-process devnet (devnet/attacks/censor-jury.toml): node1 names
VOTEs one of the censor's blocks left out with `porchain jud accuse`, the automatic jurors of
node2..node4 find it GUILTY, read with `porchain jud case 1 -o json`. The figures of the run
(blocks and seconds from the accusation's block to the verdict) go to `jury-run.json` beside
the test's directory, for docs/judicial.md."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from porchain.rpc.client import RPCClient
from tests.procs import processes, wait_for
from tests.test_e2e_devnet import ATTACKS, cli_env, devnet_cmd, devnet_root, nodes

pytestmark = pytest.mark.slow
__all__ = ["devnet_root"]  # the fixture, used by name

VERDICT_SECONDS = 240.0
MIN_SEEN_BEFORE_SLOT_MS = 100  # name only transactions every node surely saw in time


def jud(root: Path, *args: str) -> dict[str, Any]:
    datadir = root / "node1"
    done = subprocess.run(
        [sys.executable, "-m", "porchain", "--datadir", str(datadir), "jud", *args, "-o", "json"],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise AssertionError(f"porchain jud {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def censored_in_the_eyes_of(rpc_url: str, number: int) -> set[str]:
    """The transactions a node's own verdict on block `number` names as censored."""
    verdict = RPCClient(rpc_url).call("por_getBlockVerdict", number)
    return set() if verdict is None else {tx["hash"] for tx in verdict["censored"]}


def censored_block(root: Path) -> tuple[int, list[str]] | None:
    """A finalized block of node5's (one a reorg cannot take away from under the accusation,
    which would then leave the mempool unincluded) that node1 judged censoring, and the
    transactions it names that node1 saw well before the block's slot and that every juror's
    own verdict names too: a juror votes GUILTY only on what its own first-seen log shows, and
    on a loaded machine gossip can reach one node too late for the rule."""
    current = nodes(root)
    rpc = RPCClient(current["node1"]["rpc"])
    finalized = rpc.call("por_getBlockByNumber", "finalized")["number"]
    censor = current["node5"]["address"]
    for number in range(finalized, max(0, finalized - 8), -1):
        block = rpc.call("por_getBlockByNumber", number)
        if block is None or block["producer"].lower() != censor.lower():
            continue
        verdict = rpc.call("por_getBlockVerdict", number)
        if verdict is None or verdict["verdict"] != "against":
            continue
        jurors = [censored_in_the_eyes_of(current[f"node{i}"]["rpc"], number) for i in (2, 3, 4)]
        named = [
            tx["hash"]
            for tx in verdict["censored"]
            if tx["seen_before_slot_ms"] >= MIN_SEEN_BEFORE_SLOT_MS
            and all(tx["hash"] in seen for seen in jurors)
        ]
        if named:
            return number, named[:4]
    return None


def juror_story(root: Path, closed: dict[str, Any]) -> str:
    """What to read when a juror did not vote: the case, and the jurors' and nodes' log lines
    about it (ballots sent, duties that could not be sent)."""
    lines = [
        json.dumps({k: closed[k] for k in ("jurors", "draw_at", "commit_ends", "reveal_ends")})
    ]
    for i in (2, 3, 4):
        log = (root / f"node{i}" / "node.log").read_text(errors="replace").splitlines()
        told = [line for line in log if "juror" in line or "could not send" in line]
        lines += [f"node{i}: {line}" for line in told[-20:]]
    return "\n".join(lines)


def test_an_accusation_made_with_the_cli_reaches_a_guilty_verdict(devnet_root: Path) -> None:
    root, manifest = devnet_root, ATTACKS / "censor-jury.toml"
    output = devnet_root.parent / "controller.log"
    with processes() as procs:
        controller = procs.start(devnet_cmd(root, "up", "--manifest", str(manifest)), output)
        wait_for(lambda: (root / "controller.json").exists() and nodes(root), "the devnet up")
        number, named = wait_for(lambda: censored_block(root), "a censored block", 120.0)
        tx_args = [arg for h in named for arg in ("--tx", h)]
        password = str(root / "node1" / "password")
        started = time.monotonic()
        sent = jud(
            root,
            "accuse",
            str(number),
            *tx_args,
            "--stake",
            "10",
            "--from",
            "producer",
            "--password-file",
            password,
            "--wait",
        )
        assert sent["status"] == "included"
        closed = wait_for(
            lambda: (found := jud(root, "case", "1"))["phase"] == "closed" and found,
            "the verdict",
            VERDICT_SECONDS,
        )
        seconds = time.monotonic() - started
        listed = jud(root, "cases")
        assert procs.stop(controller, signal.SIGINT) == 0

    current_nodes = {n: info["address"].lower() for n, info in nodes(root).items()}
    assert closed["accused"].lower() == current_nodes["node5"]
    assert closed["accuser"].lower() == current_nodes["node1"]
    assert closed["block_number"] == number and closed["filed_at"] == sent["block_number"]
    jurors = {j["address"].lower() for j in closed["jurors"]}
    assert jurors == {current_nodes[f"node{i}"] for i in (2, 3, 4)}
    assert [j["vote"] for j in closed["jurors"]] == ["guilty"] * 3, juror_story(root, closed)
    assert closed["verdict"] == "guilty" and int(closed["payouts"]["slashed"]) > 0
    assert closed["payouts"]["accuser_returned"] == closed["stake"]
    assert [c["id"] for c in listed["cases"]] == [1]
    figures = {
        "accused_block": number,
        "named_txs": named,
        "filed_at": closed["filed_at"],
        "draw_at": closed["draw_at"],
        "closed_at": closed["closed_at"],
        "blocks_to_verdict": closed["closed_at"] - closed["filed_at"],
        "seconds_from_accuse_command_to_closed_case_seen": round(seconds, 1),
        "case": closed,
    }
    (devnet_root.parent / "jury-run.json").write_text(json.dumps(figures, indent=2))
