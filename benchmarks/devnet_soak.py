"""A local devnet under transfer load: slot fill, finality lag, agreement, false censorship,
CPU and memory.

Starts `porchain devnet up -n NODES --detach` (the devnet preset: 1 s slots) in a temporary
directory, lets it run for `--minutes` while the dev accounts send `--tps` transfers a second
to the nodes in turn (signed here, sent with `por_sendRawTransaction`), sampling every node over
RPC and /proc, then stops it.

    python benchmarks/devnet_soak.py [--minutes 10] [--nodes 4] [--tps 20] [--json]

Reports: the share of slots that got a block, the largest finality lag seen (head minus
finalized, in blocks), whether every node has the same block at the lowest finalized height,
the block pools of the measured blocks that drew an AGAINST vote and that were rejected (an
honest devnet must have none: PROTOCOL section 9, no false censorship), the transfers sent and
included, and per node the CPU it used (% of one core) and its largest resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from porchain.consensus.transfer import Transfer
from porchain.crypto.keys import to_checksum_address
from porchain.devnet.layout import ACCOUNT_PASSWORD, Devnet
from porchain.genesis import Genesis
from porchain.rpc.client import RemoteError, RPCClient, RPCClientError
from porchain.types.transactions import TxKind
from porchain.units import parse_amount
from porchain.wallet import sign_transaction

SAMPLE_SECONDS = 5.0
WARMUP_SECONDS = 20.0  # connections and the first pools settle before measuring
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def porchain(devnet: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "porchain", "devnet", "--dir", str(devnet), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"porchain devnet {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--tps", type=float, default=20.0, help="transfers sent per second")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        devnet = Path(tmp) / "devnet"
        porchain(devnet, "up", "-n", str(args.nodes), "--detach")
        try:
            result = soak(devnet, args.minutes * 60, args.tps)
        finally:
            porchain(devnet, "down")
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{args.nodes} nodes for {args.minutes:g} min at 1 s slots: "
        f"{result['slots_filled_pct']:.1f}% of {result['slots']} slots filled, "
        f"finality lag at most {result['max_finality_lag']} blocks, "
        f"finalized heads identical: {result['finalized_identical']}"
    )
    print(
        f"  block pools judged: {result['pools']}, with AGAINST votes: "
        f"{result['pools_with_against']}, rejected: {result['pools_rejected']}"
    )
    print(
        f"  transfers: {result['transfers_sent']} sent ({result['transfers_refused']} refused), "
        f"{result['transfers_included']} included"
    )
    for node in result["nodes"]:
        print(
            f"  {node['name']}: CPU {node['cpu_pct']:.1f}% of a core, "
            f"RSS at most {node['max_rss_mb']:.0f} MB"
        )


class TransferLoad(threading.Thread):
    """Transfers between the dev accounts at `tps`, each to the next node in turn."""

    def __init__(self, devnet: Path, urls: list[str], tps: float) -> None:
        super().__init__(daemon=True)
        layout = Devnet.load(devnet)
        keystore = layout.accounts_keystore
        self.keys = [keystore.unlock(name, ACCOUNT_PASSWORD) for name in layout.accounts]
        genesis = Genesis.load(layout.genesis_file)
        self.chain_id, self.params = genesis.chain_id, genesis.params
        self.clients = [RPCClient(url) for url in urls]
        self.tps = tps
        self.stop = threading.Event()
        self.sent = self.refused = 0
        self.hashes: list[str] = []

    def next_nonce(self, key) -> int:  # type: ignore[no-untyped-def]
        address = to_checksum_address(key.address)
        return self.clients[0].call("por_getAccount", address)["next_nonce"]

    def run(self) -> None:
        nonces = [self.next_nonce(k) for k in self.keys]
        amount = parse_amount("0.001")
        n = 0
        started = time.monotonic()
        while not self.stop.is_set():
            i = n % len(self.keys)
            to = self.keys[(i + 1) % len(self.keys)].address
            tx = sign_transaction(
                self.keys[i],
                chain_id=self.chain_id,
                nonce=nonces[i],
                kind=TxKind.TRANSFER,
                payload=Transfer(to, amount).to_rlp(),
                params=self.params,
            )
            try:
                self.hashes.append(
                    self.clients[n % len(self.clients)].call(
                        "por_sendRawTransaction", "0x" + tx.encoded.hex()
                    )
                )
                nonces[i] += 1
                self.sent += 1
            except (RemoteError, RPCClientError):
                self.refused += 1
                nonces[i] = self.next_nonce(self.keys[i])
            n += 1
            self.stop.wait(max(0.0, started + n / self.tps - time.monotonic()))


def judged_pools(client: RPCClient, first: int, last: int) -> tuple[int, int, int]:
    """(block pools, pools with an AGAINST stake, rejected pools) of blocks first..last."""
    pools = against = rejected = 0
    for number in range(first, last + 1):
        pool_id = client.call("por_getBlockByNumber", number)["pool_id"]
        pool = client.call("por_getPool", pool_id)
        pools += 1
        against += any(stake["side"] == "against" for stake in pool["stakes"])
        rejected += pool["status"] == "rejected"
    return pools, against, rejected


def soak(devnet: Path, seconds: float, tps: float) -> dict:
    status = json.loads(porchain(devnet, "status", "-o", "json"))
    nodes = [(n["name"], RPCClient(n["rpc"]), n["pid"]) for n in status["nodes"]]
    time.sleep(WARMUP_SECONDS)
    load = TransferLoad(devnet, [n["rpc"] for n in status["nodes"]], tps)
    load.start()
    first = nodes[0][1].call("por_nodeInfo")
    cpu_start = {name: cpu_seconds(pid) for name, _, pid in nodes}
    started = time.monotonic()
    max_lag, max_rss = 0, dict.fromkeys((name for name, _, _ in nodes), 0.0)
    while time.monotonic() - started < seconds:
        time.sleep(SAMPLE_SECONDS)
        for name, client, pid in nodes:
            info = client.call("por_nodeInfo")
            max_lag = max(max_lag, info["head"]["number"] - info["finalized"]["number"])
            max_rss[name] = max(max_rss[name], rss_mb(pid))
    elapsed = time.monotonic() - started
    load.stop.set()
    load.join()
    last = nodes[0][1].call("por_nodeInfo")
    slots = last["current_slot"] - first["current_slot"]
    blocks = last["head"]["number"] - first["head"]["number"]
    finalized = min(client.call("por_nodeInfo")["finalized"]["number"] for _, client, _ in nodes)
    hashes = {client.call("por_getBlockByNumber", finalized)["hash"] for _, client, _ in nodes}
    pools, against, rejected = judged_pools(nodes[0][1], first["head"]["number"] + 1, finalized)
    included = sum(
        nodes[0][1].call("por_getTransaction", tx_hash) is not None for tx_hash in load.hashes
    )
    return {
        "seconds": round(elapsed),
        "slots": slots,
        "blocks": blocks,
        "slots_filled_pct": round(100 * blocks / slots, 2),
        "max_finality_lag": max_lag,
        "finalized_height": finalized,
        "finalized_identical": len(hashes) == 1,
        "pools": pools,
        "pools_with_against": against,
        "pools_rejected": rejected,
        "transfers_sent": load.sent,
        "transfers_refused": load.refused,
        "transfers_included": included,
        "nodes": [
            {
                "name": name,
                "cpu_pct": round(100 * (cpu_seconds(pid) - cpu_start[name]) / elapsed, 1),
                "max_rss_mb": round(max_rss[name], 1),
            }
            for name, _, pid in nodes
        ],
    }


if __name__ == "__main__":
    main()
