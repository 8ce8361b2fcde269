"""Transaction admission through `por_sendRawTransaction`: transactions a real node admits per
second, sent one per request and in JSON-RPC batches.

Starts a producing node (`porchain node run`, devnet preset: 1 s slots, blocks of up to 4,096
transfers, no peers) on a genesis funding `--senders` accounts, in a temporary directory.
Transfers are signed beforehand; then `--connections` keep-alive connections send `--txs` of
them one request each (phase "single"), then `--txs` more in batches of `--batch` (phase
"batch"). Each transaction is decoded, its sender recovered and every rule checked against the
pending state before the node answers; the node keeps producing blocks from its mempool
meanwhile. Reports admitted per second, errors, and the node's CPU during each phase.

    python benchmarks/rpc_admission.py [--txs 4000] [--batch 100] [--connections 4] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from devnet_soak import cpu_seconds
from transfer_throughput import make_genesis, make_keys, presign

from porchain.cli.keys import LIGHT_SCRYPT_N
from porchain.crypto.keystore import Keystore

START_TIMEOUT = 60.0


def start_node(datadir: Path, senders: int) -> tuple[subprocess.Popen, str, list]:
    producer = make_keys(1, b"bench producer")[0]
    keys = make_keys(senders, b"bench sender")
    Keystore(datadir / "keystore").create(
        "", name="producer", scrypt_n=LIGHT_SCRYPT_N, key=producer
    )
    genesis = make_genesis(producer, keys, genesis_time=int(time.time() * 1000))
    (datadir / "genesis.json").write_text(json.dumps(genesis.to_json()))
    porchain = [sys.executable, "-m", "porchain", "--datadir", str(datadir)]
    subprocess.run([*porchain, "init"], check=True, capture_output=True)
    (datadir / "password").write_text("")
    node = subprocess.Popen(
        [
            *porchain,
            "node",
            "run",
            "--key",
            "producer",
            "--password-file",
            str(datadir / "password"),
            "--no-p2p",
            "--rpc-port",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(datadir / "node.log").open("w"),
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            return node, json.loads((datadir / "node.json").read_text())["rpc"], keys
        except (OSError, ValueError, KeyError):
            if node.poll() is not None:
                raise SystemExit((datadir / "node.log").read_text()) from None
            time.sleep(0.1)
    node.kill()
    raise SystemExit("the node did not start")


class Sender(threading.Thread):
    """One keep-alive connection posting its bodies back to back; counts the answers."""

    def __init__(self, url: str, bodies: list[bytes]) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.bodies = bodies
        self.admitted = self.refused = 0
        self.first_error = ""

    def run(self) -> None:
        headers = {"Content-Type": "application/json"}
        for body in self.bodies:
            self.connection.request("POST", "/", body, headers)
            answer = json.loads(self.connection.getresponse().read())
            for item in answer if isinstance(answer, list) else [answer]:
                if "result" in item:
                    self.admitted += 1
                else:
                    self.refused += 1
                    self.first_error = self.first_error or item["error"]["message"]


def request(tx, i: int) -> dict:  # type: ignore[no-untyped-def]
    raw = "0x" + tx.encoded.hex()
    return {"jsonrpc": "2.0", "id": i, "method": "por_sendRawTransaction", "params": [raw]}


def phase(url: str, pid: int, bodies: list[bytes], connections: int, count: int) -> dict:
    senders = [Sender(url, bodies[i::connections]) for i in range(connections)]
    cpu = cpu_seconds(pid)
    start = time.perf_counter()
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    elapsed = time.perf_counter() - start
    admitted = sum(s.admitted for s in senders)
    return {
        "transactions": count,
        "admitted": admitted,
        "refused": sum(s.refused for s in senders),
        "first_error": next((s.first_error for s in senders if s.first_error), ""),
        "seconds": round(elapsed, 2),
        "admitted_per_second": round(admitted / elapsed),
        "node_cpu_pct": round(100 * (cpu_seconds(pid) - cpu) / elapsed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=4000, help="transactions a phase")
    parser.add_argument("--batch", type=int, default=100, help="requests in a batch (max 100)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--senders", type=int, default=4000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        node, url, keys = start_node(Path(tmp), max(args.senders, args.txs))
        try:
            single_txs, batch_txs = presign(keys, 2, args.txs, random.Random(7))
            singles = [json.dumps(request(tx, i)).encode() for i, tx in enumerate(single_txs)]
            batches = [
                json.dumps(
                    [request(tx, i) for i, tx in enumerate(batch_txs[at : at + args.batch])]
                ).encode()
                for at in range(0, len(batch_txs), args.batch)
            ]
            time.sleep(2.0)  # past the first slots: the node is producing
            result = {
                "single": phase(url, node.pid, singles, args.connections, args.txs),
                "batch": phase(url, node.pid, batches, args.connections, args.txs),
                "batch_size": args.batch,
                "connections": args.connections,
            }
        finally:
            node.terminate()
            node.wait(timeout=30)
    if args.json:
        print(json.dumps(result))
        return
    for name in ("single", "batch"):
        r = result[name]
        how = "one per request" if name == "single" else f"in batches of {args.batch}"
        print(
            f"{name}: {r['admitted']} of {r['transactions']} admitted {how} over "
            f"{args.connections} connections in {r['seconds']} s: {r['admitted_per_second']}/s "
            f"(node CPU {r['node_cpu_pct']}%)"
            + (f"; first error: {r['first_error']}" if r["refused"] else "")
        )


if __name__ == "__main__":
    main()
