"""A local devnet under transfer load: slot fill, finality lag, agreement, false censorship,
CPU and memory.

Starts `porchain devnet up --manifest M --detach` in a temporary directory (the devnet preset
with `--slot-ms` slots, `--nodes` nodes, `--accounts` funded dev accounts), lets it run for
`--minutes` while the dev accounts send `--tps` transfers a second (signed here, sent every
100 ms as one `por_sendRawTransaction` batch to the next node in turn, on keep-alive
connections), sampling every node over RPC and /proc, then stops it.

    python benchmarks/devnet_soak.py [--minutes 10] [--nodes 4] [--tps 20] [--slot-ms 1000]

Reports: the share of slots that got a block, the largest finality lag seen (head minus
finalized, in blocks and in seconds of slots), whether every node has the same block at the
lowest finalized height, the block pools of the measured blocks that drew an AGAINST vote
and that were rejected (an honest devnet must have none: PROTOCOL section 9, no false
censorship), the transfers sent and included, and per node the CPU it used (% of one core)
and its largest resident memory.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from porchain.consensus.transfer import Transfer
from porchain.crypto.keys import to_checksum_address
from porchain.devnet.layout import ACCOUNT_PASSWORD, Devnet
from porchain.genesis import Genesis
from porchain.rpc.client import RPCClient
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


def manifest(nodes: int, accounts: int, slot_ms: int) -> str:
    lines = ['name = "soak"', 'preset = "devnet"', "[wsc]", f"slot_ms = {slot_ms}"]
    for i in range(1, nodes + 1):
        lines += ["[[node]]", f'name = "node{i}"']
    lines.append("[accounts]")
    lines += [f'load{i} = "1000000"' for i in range(accounts)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--tps", type=float, default=20.0, help="transfers sent per second")
    parser.add_argument("--slot-ms", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=16, help="dev accounts sending")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        devnet = Path(tmp) / "devnet"
        manifest_file = Path(tmp) / "soak.toml"
        manifest_file.write_text(manifest(args.nodes, args.accounts, args.slot_ms))
        porchain(devnet, "up", "--manifest", str(manifest_file), "--detach")
        try:
            result = soak(devnet, args.minutes * 60, args.tps, args.slot_ms)
        finally:
            porchain(devnet, "down")
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{args.nodes} nodes for {args.minutes:g} min at {args.slot_ms} ms slots: "
        f"{result['slots_filled_pct']:.1f}% of {result['slots']} slots filled, "
        f"finality lag at most {result['max_finality_lag']} blocks "
        f"({result['max_finality_lag_s']} s), "
        f"finalized heads identical: {result['finalized_identical']}"
    )
    print(
        f"  block pools judged: {result['pools']}, with AGAINST votes: "
        f"{result['pools_with_against']}, rejected: {result['pools_rejected']}"
    )
    print(
        f"  transfers: {result['transfers_sent']} sent ({result['transfers_refused']} refused), "
        f"{result['transfers_included']} included"
        + (f"; first refusal: {result['first_refusal']}" if result["transfers_refused"] else "")
    )
    for node in result["nodes"]:
        print(
            f"  {node['name']}: CPU {node['cpu_pct']:.1f}% of a core, "
            f"RSS at most {node['max_rss_mb']:.0f} MB"
        )


class Connection:
    """A keep-alive JSON-RPC connection that sends batches."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.http = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.ids = itertools.count()

    def batch(self, calls: list[tuple[str, list]]) -> list[dict]:
        """The answers to `calls`, in order (each a `result` or an `error`)."""
        body = [
            {"jsonrpc": "2.0", "id": next(self.ids), "method": method, "params": params}
            for method, params in calls
        ]
        data = json.dumps(body)
        try:
            answers = self._post(data)
        except (http.client.HTTPException, ConnectionError):
            self.http.close()  # the server closed an idle keep-alive connection: open anew
            answers = self._post(data)
        by_id = {answer["id"]: answer for answer in answers}
        return [by_id[call["id"]] for call in body]

    def _post(self, data: str) -> list[dict]:
        self.http.request("POST", "/", data, {"Content-Type": "application/json"})
        return json.loads(self.http.getresponse().read())


class TransferLoad(threading.Thread):
    """Transfers between the dev accounts at `tps`, sent every TICK; each account sends to one
    node (its transactions reach the others in nonce order, by gossip)."""

    TICK = 0.1

    def __init__(self, devnet: Path, urls: list[str], tps: float) -> None:
        super().__init__(daemon=True)
        layout = Devnet.load(devnet)
        keystore = layout.accounts_keystore
        self.keys = [keystore.unlock(name, ACCOUNT_PASSWORD) for name in layout.accounts]
        genesis = Genesis.load(layout.genesis_file)
        self.chain_id, self.params = genesis.chain_id, genesis.params
        self.connections = [Connection(url) for url in urls]
        self.tps = tps
        self.stop = threading.Event()
        self.sent = self.refused = 0
        self.hashes: list[str] = []
        self.first_error = ""

    def node_of(self, key) -> int:  # type: ignore[no-untyped-def]
        return self.keys.index(key) % len(self.connections)

    def next_nonces(self, keys: list) -> list[int]:  # type: ignore[type-arg]
        """Each account's next nonce as its node sees it (its pending transactions counted)."""
        return [
            self.connections[self.node_of(k)].batch(
                [("por_getAccount", [to_checksum_address(k.address)])]
            )[0]["result"]["next_nonce"]
            for k in keys
        ]

    def run(self) -> None:
        nonces = dict(zip(self.keys, self.next_nonces(self.keys), strict=True))
        amount = parse_amount("0.001")
        n = tick = 0
        started = time.monotonic()
        while not self.stop.is_set():
            due = int((time.monotonic() - started) * self.tps)
            batch = []
            for _ in range(n, due):
                key = self.keys[n % len(self.keys)]
                to = self.keys[(n + 1) % len(self.keys)].address
                tx = sign_transaction(
                    key,
                    chain_id=self.chain_id,
                    nonce=nonces[key],
                    kind=TxKind.TRANSFER,
                    payload=Transfer(to, amount).to_rlp(),
                    params=self.params,
                )
                nonces[key] += 1
                batch.append((key, tx))
                n += 1
            resync = set()
            for node, connection in enumerate(self.connections):  # an account keeps its node
                mine = [
                    (k, tx) for k, tx in batch if self.keys.index(k) % len(self.connections) == node
                ]
                if not mine:
                    continue
                raws = [("por_sendRawTransaction", ["0x" + tx.encoded.hex()]) for _, tx in mine]
                for (key, _), answer in zip(mine, connection.batch(raws), strict=True):
                    if "result" in answer:
                        self.hashes.append(answer["result"])
                        self.sent += 1
                    else:
                        self.refused += 1
                        self.first_error = self.first_error or answer["error"]["message"]
                        resync.add(key)
            if resync:
                keys = sorted(resync, key=self.keys.index)
                nonces.update(zip(keys, self.next_nonces(keys), strict=True))
            tick += 1
            self.stop.wait(max(0.0, started + tick * self.TICK - time.monotonic()))

    def included(self) -> int:
        """How many of the sent transfers a block includes (asked 100 at a time)."""
        count = 0
        for at in range(0, len(self.hashes), 100):
            calls = [("por_getTransaction", [h]) for h in self.hashes[at : at + 100]]
            answers = self.connections[0].batch(calls)
            count += sum((a.get("result") or {}).get("status") == "included" for a in answers)
        return count


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


def soak(devnet: Path, seconds: float, tps: float, slot_ms: int) -> dict:
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
    cpu_end = {name: cpu_seconds(pid) for name, _, pid in nodes}
    load.stop.set()
    load.join()
    last = nodes[0][1].call("por_nodeInfo")
    slots = last["current_slot"] - first["current_slot"]
    blocks = last["head"]["number"] - first["head"]["number"]
    time.sleep(6 * slot_ms / 1000)  # the last pools resolve and their blocks finalize
    finalized = min(client.call("por_nodeInfo")["finalized"]["number"] for _, client, _ in nodes)
    hashes = {client.call("por_getBlockByNumber", finalized)["hash"] for _, client, _ in nodes}
    pools, against, rejected = judged_pools(nodes[0][1], first["head"]["number"] + 1, finalized)
    return {
        "seconds": round(elapsed),
        "slot_ms": slot_ms,
        "slots": slots,
        "blocks": blocks,
        "slots_filled_pct": round(100 * blocks / slots, 2),
        "max_finality_lag": max_lag,
        "max_finality_lag_s": round(max_lag * slot_ms / 1000, 1),
        "finalized_height": finalized,
        "finalized_identical": len(hashes) == 1,
        "pools": pools,
        "pools_with_against": against,
        "pools_rejected": rejected,
        "transfers_sent": load.sent,
        "transfers_refused": load.refused,
        "first_refusal": load.first_error,
        "transfers_included": load.included(),
        "nodes": [
            {
                "name": name,
                "cpu_pct": round(100 * (cpu_end[name] - cpu_start[name]) / elapsed, 1),
                "max_rss_mb": round(max_rss[name], 1),
            }
            for name, _, pid in nodes
        ],
    }


if __name__ == "__main__":
    main()
